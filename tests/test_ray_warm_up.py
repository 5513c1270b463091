"""The Ray executor's warm-ups (hydra.sweeper.warm_imports): read once they end, whatever happened to their worker."""

from __future__ import annotations


def test_warm_ups_that_ended_are_read_even_when_their_worker_died() -> None:
    # Read, a warm-up whose worker died leaves no "unhandled error" for Ray to print; those
    # still running are kept for later.
    import ray

    from hydra_plugins.seqsweep_plugins.ray_launcher.executor import RayExecutor

    class FakeRay:
        exceptions = ray.exceptions

        def __init__(self) -> None:
            self.read: list[str] = []

        def is_initialized(self) -> bool:
            return True

        def wait(self, refs, num_returns, timeout):
            return [r for r in refs if r != "running"], [r for r in refs if r == "running"]

        def get(self, ref):
            self.read.append(ref)
            if ref == "died":
                raise ray.exceptions.WorkerCrashedError()
            return {}

    executor = object.__new__(RayExecutor)
    executor._warming = ["died", "running", "done"]
    fake = FakeRay()
    executor._settle_warm_ups(fake)
    assert fake.read == ["died", "done"]
    assert executor._warming == ["running"]
