"""A few seconds of the benchmark against the test stack, so `make bench` keeps working.
It asserts what was stored, never how fast (speed is `make bench`'s job)."""

import argparse

import httpx
import pytest
from attendance_bench.__main__ import Target, main_async

from attendance_shared.auth import Role
from attendance_stack import LocalStack
from tests.helpers import bearer

pytestmark = pytest.mark.e2e


async def test_the_benchmark_loads_and_ingests_what_it_says(stack: LocalStack) -> None:
    args = argparse.Namespace(
        schools=2, pupils=30, days=1, concurrency=4, seed=1, smoke=True, query_repeats=2, freshness_timeout=60
    )
    target = Target(
        urls={s: stack.url(s) for s in ("register", "analytics", "la-returns")},
        pids={name: process.pid for name, process in stack.services.items()},
    )
    results = await main_async(args, target)
    assert results["ingest"]["marks"] == 2 * 30 * 2 and results["ingest"]["registers"] == 4
    assert results["end_to_end"]["marks"] == 120 and results["end_to_end"]["freshness_p99_s"] >= 0
    assert set(results["queries"]) == {"school_summary", "flagged_list", "la_return_compile"}
    assert all(mb > 0 for mb in results["resident_mb"].values())
    async with httpx.AsyncClient(base_url=stack.url("register"), headers=bearer(Role.ADMIN)) as client:
        register = (await client.get("/v1/schools/500000/registers/2026-09-07/am")).json()
        assert len(register["marks"]) == 30
