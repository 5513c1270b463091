"""The one private Ray API the launcher uses, with why (checked against ray 2.60;
tests/test_private_api.py fails when a Ray release changes it).

`ray._private.ray_constants.ENABLE_RAY_CLUSTER`: on Linux, Ray binds most of its ports to the
machine's network address unless it believes it runs a single-machine Ray. That belief is the
environment variable RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0, read into this constant when `ray` is
imported; a process that imported Ray before setting the variable must set the constant too.
Ray offers no public switch for it.
"""

from __future__ import annotations


def treat_as_single_machine() -> None:
    from ray._private import ray_constants

    ray_constants.ENABLE_RAY_CLUSTER = False
