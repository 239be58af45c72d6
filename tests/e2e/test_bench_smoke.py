"""A few seconds of the benchmark against the test stack, so `make bench` keeps working.
It asserts what was stored, never how fast (speed is `make bench`'s job)."""

from pathlib import Path

import httpx
import pytest
from attendance_bench.__main__ import Target, main_async, parse_args, table_rows
from attendance_bench.measures import CLIENT

from attendance_shared.auth import Role
from attendance_stack import LocalStack
from tests.helpers import bearer

pytestmark = pytest.mark.e2e


async def test_the_benchmark_replays_generated_days_and_reports_them(stack: LocalStack, tmp_path: Path) -> None:
    # --smoke: 2 schools of 50 pupils, one school day flat out and one paced at 1,000 marks/s,
    # after the year before copied straight into the databases (--history 1), every service
    # sampled by py-spy through the flat-out day (--profile).
    options = ["--smoke", "--seed", "1", "--query-repeats", "2", "--freshness-timeout", "60", "--history", "1"]
    args = parse_args([*options, "--profile", str(tmp_path / "profile")])
    target = Target(
        urls={s: stack.url(s) for s in ("register", "analytics", "la-returns")},
        pids={name: process.pid for name, process in stack.services.items()},
        dependency_pids={"postgres": stack.postgres.process.pid, "broker": stack.broker.process.pid},
        kafka=stack.kafka,  # freshness is read from the broker
        database_url=stack.database_url,  # bytes on disk per table
        broker_log_dirs=[node.data_dir for node in stack.broker.nodes],
    )
    results = await main_async(args, target)
    ingest, paced = results["ingest"], results["paced"]
    # 3 September 2025, the first day after two INSET days: every pupil on roll, both sessions.
    assert ingest["days"] == 1 and ingest["registers"] == 4 and ingest["marks"] == 2 * 50 * 2
    assert results["end_to_end"]["marks"] == 200 and results["end_to_end"]["freshness_p99_s"] >= 0, results
    assert paced["marks"] > 0 and paced["offered_marks_per_second"] == 1000 and paced["freshness_p99_s"] >= 0
    assert set(results["queries"]) == {
        "school_summary",
        "pupil_figures",
        "flagged_list",
        "register_read",
        "register_as_at",
        "la_return_compile",
    }
    assert all(mb > 0 for mb in results["resident_mb"].values())
    cpu = results["cpu_flat_out"]
    assert cpu["events"] == 200 and set(cpu["seconds"]) == {*stack.services, "postgres", "broker", CLIENT}
    assert cpu["seconds"]["register"] > 0 and cpu["seconds"]["postgres"] > 0
    assert results["data"]["marks"] == ingest["marks"] + paced["marks"]
    # py-spy could read every service (ptrace allowed) and its folded stacks were summarised;
    # the tests' PostgreSQL has no pg_stat_statements loaded, so the profile leaves it out.
    profile = results["profile"]
    for service in stack.services:
        assert (tmp_path / "profile" / f"{service}.txt").exists() and "error" not in profile[service]
    # Analytics applying the day's marks is in its samples (20 to 25 of them in a smoke run).
    assert any(name.startswith("BatchConsumer.run ") for name, _ in profile["analytics"]["entries"])
    assert "postgres" not in profile
    # Bytes on disk: every service's tables and the topics, and what a stored mark costs.
    disk = results["disk"]
    assert disk["tables"]["register.marks"]["table"] > 0 and disk["tables"]["register.marks"]["indexes"] > 0
    assert {"analytics", "notification", "la_returns", "support"} <= {n.split(".")[0] for n in disk["tables"]}
    history = results["history"]
    assert history["academic_years"] == [2024] and history["marks"] > 100 * 2 * 180 and history["pupil_years"] > 100
    assert disk["topics"]["attendance.marks.v1"] > 0
    assert disk["marks_stored"] == results["data"]["marks"] + history["marks"]
    assert disk["bytes_per_mark"]["register (all its tables)"] > 0 and disk["bytes_per_mark"]["broker (all topics)"] > 0
    assert any(row[0].startswith("register ingest") for row in table_rows(results, args))
    async with httpx.AsyncClient(base_url=stack.url("register"), headers=bearer(Role.ADMIN)) as client:
        register = (await client.get("/v1/schools/500000/registers/2025-09-03/am")).json()
        assert len(register["marks"]) == 50
        calendar = (await client.get("/v1/schools/500000/calendar", params={"academic_year": 2025})).json()
        polling_day = any(c["day"] == "2026-05-07" for c in calendar["closures"])  # closes a whole day
        assert calendar["school_days"] == 190 - polling_day
    # The year before, as analytics reads it from the rows copied in: a whole year's sessions.
    async with httpx.AsyncClient(base_url=stack.url("analytics"), headers=bearer(Role.ADMIN)) as client:
        upn = register["marks"][0]["upn"]
        period = {"from": "2024-09-01", "to": "2025-07-31"}
        pupil = (await client.get(f"/v1/schools/500000/pupils/{upn}/attendance", params=period)).json()
        assert 0 < pupil["figures"]["possible_sessions"] <= 380, pupil
        school = (await client.get("/v1/schools/500000/attendance", params=period)).json()
        assert school["figures"]["possible_sessions"] > 50 * 250, school["figures"]
