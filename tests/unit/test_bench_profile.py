"""The bench's profile summary (`--profile`): py-spy's folded stacks read into each
function's own and total share of the samples."""

from attendance_bench.profile import ELSEWHERE, top_functions

PROCESS = 'process 42:"python -m uvicorn --factory x_service.app:create_app --port 1"'
FOLDED = "\n".join(
    [
        f"{PROCESS};run (uvicorn/main.py:1);apply (attendance_shared/consumer.py:9);parse (pydantic/main.py:3) 6",
        f"{PROCESS};run (uvicorn/main.py:1);apply (attendance_shared/consumer.py:9);save (x_service/store.py:5) 3",
        f"{PROCESS};run (uvicorn/main.py:1) 1",
        f"{PROCESS} 5",  # a sample with no Python frame: no CPU of ours to place
        "not a folded line",
    ]
)


def test_own_time_is_the_last_frame_and_total_counts_our_frames_once() -> None:
    figures = top_functions(FOLDED)

    assert figures["samples"] == 10
    assert figures["own"] == [
        ["parse (pydantic/main.py:3)", 0.6],
        ["save (x_service/store.py:5)", 0.3],
        ["run (uvicorn/main.py:1)", 0.1],
    ]
    # Only our packages' frames: uvicorn's and pydantic's hold every sample and say nothing.
    assert figures["total"] == [["apply (attendance_shared/consumer.py:9)", 0.9], ["save (x_service/store.py:5)", 0.3]]


def test_each_sample_is_put_to_the_route_or_worker_it_came_in_by() -> None:
    supervise = "Workers._supervise (attendance_shared/platform.py:73)"
    folded = "\n".join(
        [
            f"{PROCESS};run (uvicorn/main.py:1);metrics (attendance_shared/platform.py:2);"
            "put_register (x_service/api/routes.py:257);_change (x_service/service/registers.py:9) 5",
            f"{PROCESS};run (uvicorn/main.py:1);{supervise};OutboxRelay.run (attendance_shared/outbox.py:253) 3",
            f"{PROCESS};run (uvicorn/main.py:1);execute (sqlalchemy/orm/session.py:1) 2",
        ]
    )

    figures = top_functions(folded)

    assert figures["entries"] == [
        ["put_register (x_service/api/routes.py:257)", 0.5],  # the route, not the middleware above it
        ["OutboxRelay.run (attendance_shared/outbox.py:253)", 0.3],
        [ELSEWHERE, 0.2],  # a greenlet's stack starts below the route that awaits it
    ]


def test_a_recursive_frame_counts_once_a_sample() -> None:
    figures = top_functions(f"{PROCESS};walk (x_service/tree.py:1);walk (x_service/tree.py:1) 4")

    assert figures["samples"] == 4
    assert figures["own"] == figures["total"] == [["walk (x_service/tree.py:1)", 1.0]]


def test_no_samples_says_so() -> None:
    assert top_functions("") == {"samples": 0}
