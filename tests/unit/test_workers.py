"""The supervisor of a service's background workers, with workers of the test's own."""

import asyncio

from attendance_shared.metrics import WORKER_RESTARTS
from attendance_shared.platform import Workers, workers_check


class FailsTwiceThenRuns:
    def __init__(self) -> None:
        self.starts = 0
        self._stopping = asyncio.Event()

    async def run(self) -> None:
        self.starts += 1
        if self.starts <= 2:
            raise RuntimeError(f"unforeseen failure {self.starts}")
        await self._stopping.wait()

    def stop(self) -> None:
        self._stopping.set()


async def test_a_worker_that_raises_is_started_again_counted_and_reported_not_ready_for_a_while(monkeypatch) -> None:
    monkeypatch.setattr("attendance_shared.platform.asyncio.sleep", _no_wait)
    worker, workers = FailsTwiceThenRuns(), Workers()
    workers.add("analytics-consumer", worker)
    restarts_before = WORKER_RESTARTS.labels("analytics-consumer")._value.get()
    workers.start()
    for _ in range(100):
        if worker.starts == 3:
            break
        await _real_sleep(0.01)
    assert worker.starts == 3
    assert WORKER_RESTARTS.labels("analytics-consumer")._value.get() - restarts_before == 2
    ready, why = await workers_check(workers)()
    assert not ready and "analytics-consumer failed" in why and "unforeseen failure 2" in why
    await workers.stop()
    assert workers.tasks["analytics-consumer"].done() and not workers.tasks["analytics-consumer"].exception()


_real_sleep = asyncio.sleep


async def _no_wait(_seconds: float) -> None:
    await _real_sleep(0)
