"""FixBatcher: single fixes from many threads stored in batches, each sender answered."""

from __future__ import annotations

import threading
from collections.abc import Sequence

import pytest
from places import AKWA

from vtc_dispatch.batching import FixBatcher
from vtc_dispatch.errors import InvalidArgument, StorageUnavailable
from vtc_dispatch.geo import destination_point
from vtc_dispatch.order import Fix, PositionAnswer
from vtc_dispatch.pricing import douala_config
from vtc_dispatch.service import DispatchService


class CountingService(DispatchService):
    """Counts its batches; ``fail`` makes the next one raise as a storage that is down."""

    def __init__(self) -> None:
        super().__init__(pricing=douala_config())
        self.batches: list[int] = []
        self.fail = False

    def update_positions(self, fixes: Sequence[Fix]) -> list[PositionAnswer]:
        self.batches.append(len(fixes))
        if self.fail:
            raise StorageUnavailable("Redis did not answer while committing a change set")
        return super().update_positions(fixes)


def test_fixes_from_many_threads_are_stored_in_few_batches_each_sender_answered() -> None:
    service = CountingService()
    drivers = [f"d{i}" for i in range(40)]
    for k, driver in enumerate(drivers):
        service.driver_online(driver, "taxi_jaune", destination_point(AKWA, k * 9.0, 1.0))
    answers: dict[str, PositionAnswer] = {}
    start = threading.Barrier(len(drivers))
    with FixBatcher(service, window_s=1.0) as batcher:

        def phone(k: int, driver: str) -> None:
            start.wait()
            fix = Fix(driver, destination_point(AKWA, k * 9.0, 1.01))
            answers[driver] = batcher.submit(fix).result(timeout=10).answer

        threads = [threading.Thread(target=phone, args=(k, d)) for k, d in enumerate(drivers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert answers == {d: PositionAnswer(True) for d in drivers}
    assert sum(service.batches) == len(drivers)
    # Released together, the 40 fixes fall in one window, or two when a thread was late.
    assert len(service.batches) <= 2
    for k, driver in enumerate(drivers):
        assert service.drivers.get(driver).position == destination_point(AKWA, k * 9.0, 1.01)


def test_a_batch_that_cannot_be_stored_fails_every_one_of_its_fixes_and_the_next_one_works() -> (
    None
):
    service = CountingService()
    service.driver_online("amadou", "taxi_jaune", AKWA)
    service.fail = True
    with FixBatcher(service, window_s=0.01) as batcher:
        first = batcher.submit(Fix("amadou", destination_point(AKWA, 0, 0.1)))
        with pytest.raises(StorageUnavailable):
            first.result(timeout=10)
        service.fail = False
        again = batcher.submit(Fix("amadou", destination_point(AKWA, 0, 0.2))).result(timeout=10)
    assert again.answer == PositionAnswer(True)
    assert again.at <= service.clock.now()


def test_close_stores_what_was_submitted_and_refuses_more() -> None:
    service = CountingService()
    service.driver_online("amadou", "taxi_jaune", AKWA)
    batcher = FixBatcher(service, window_s=5.0)
    pending = batcher.submit(Fix("amadou", destination_point(AKWA, 0, 0.1)))
    batcher.close()  # does not wait the 5 s window
    assert pending.result(timeout=0).answer == PositionAnswer(True)
    with pytest.raises(RuntimeError, match="closed"):
        batcher.submit(Fix("amadou", AKWA))
    batcher.close()


def test_bad_arguments_are_refused_naming_them() -> None:
    service = CountingService()
    with pytest.raises(InvalidArgument, match=r"window_s.*0"):
        FixBatcher(service, window_s=0)
    with FixBatcher(service, window_s=0.01) as batcher:
        with pytest.raises(InvalidArgument, match="fix must be a Fix, got 'amadou'"):
            batcher.submit("amadou")  # type: ignore[arg-type]
        unknown = batcher.submit(Fix("ghost", AKWA)).result(timeout=10).answer
    assert (unknown.accepted, unknown.reason) == (False, "unknown_driver")
