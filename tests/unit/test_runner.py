"""The asyncio deadline runner, on a real event loop and the wall clock."""

from __future__ import annotations

import asyncio

import pytest
from places import AKWA

from vtc_dispatch.geo import destination_point
from vtc_dispatch.pool import PoolConfig, run_deadlines
from vtc_dispatch.pricing import PricingConfig
from vtc_dispatch.service import DispatchService


def test_offers_pass_to_the_next_driver_when_the_answer_time_is_over(
    pricing: PricingConfig,
) -> None:
    service = DispatchService(
        pricing=pricing,
        pool=PoolConfig.model_validate({"default": {"max_waiting_time_s": 0.2}}),
    )
    service.driver_online("first", "taxi_jaune", destination_point(AKWA, 0, 0.2))
    service.driver_online("second", "taxi_jaune", destination_point(AKWA, 0, 0.4))

    async def scenario() -> tuple[str | None, str, int]:
        stop = asyncio.Event()
        runner = asyncio.create_task(run_deadlines(service, stop, max_sleep_s=0.05))
        order = service.create_order(
            "cust", AKWA, destination_point(AKWA, 90, 3), "taxi_jaune", "CASH"
        )
        await asyncio.sleep(0.3)  # first driver's time is over
        offered = service.orders.get(order.id).offered_to
        await asyncio.sleep(0.3)  # second driver's too: nobody left
        state = service.orders.get(order.id).state
        stop.set()
        return offered, state, await runner

    offered, state, handled = asyncio.run(scenario())
    assert offered == "second"
    assert state == "no_driver"
    assert handled == 2


def test_a_bad_sleep_is_refused(pricing: PricingConfig) -> None:
    service = DispatchService(pricing=pricing)
    with pytest.raises(ValueError, match="max_sleep_s must be > 0, got 0"):
        asyncio.run(run_deadlines(service, asyncio.Event(), max_sleep_s=0))
