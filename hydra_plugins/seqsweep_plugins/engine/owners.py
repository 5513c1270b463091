"""Which process owns a record (a running trial, a sweep's parent run), and whether it is gone.

A record left RUNNING by a process that was killed must be closed by the next command; one
that a live process still runs must be left alone. The owner is written as `host:pid`.
"""

import os
import socket

THIS_PROCESS = f"{socket.gethostname()}:{os.getpid()}"


def process_is_gone(owner: str, this_process_is_gone: bool = False) -> bool:
    """True when `host:pid` names a process of this machine that no longer exists. A process
    on another machine is unknown here: False. `this_process_is_gone`: what to answer for this
    very process (a sweep that has not asked a trial yet cannot be running one)."""
    host, _, pid = owner.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    if int(pid) == os.getpid():
        return this_process_is_gone
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False
