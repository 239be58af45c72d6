"""How the bench reads freshness and the end-to-end rate off analytics' applied count (pure
arithmetic over recorded samples, no timing)."""

from attendance_bench.measures import ConsumedWatcher, freshness


def _watcher(samples: list[tuple[float, float]]) -> ConsumedWatcher:
    watcher = ConsumedWatcher(committed=None)  # type: ignore[arg-type] - only the samples are read
    watcher.samples = samples
    return watcher


def test_every_mark_applied_gives_the_rate_and_each_registers_freshness() -> None:
    accepted = [(1.0, 1000), (2.0, 1000)]
    figures = freshness(accepted, _watcher([(0.5, 0), (1.5, 1000), (3.0, 2000)]), started=0.0)
    assert figures["end_to_end_marks_per_second"] == round(2000 / 3.0)
    assert figures["freshness_p50_s"] == 0.75  # 0.5 s and 1.0 s
    assert "marks_not_applied" not in figures


def test_marks_left_unapplied_at_the_timeout_give_no_rate() -> None:
    # Analytics stopped at 1,500 of 2,000: a rate over what it had applied by then would be
    # the rate of a shorter run, not this one's.
    accepted = [(1.0, 1000), (2.0, 1000)]
    figures = freshness(accepted, _watcher([(0.5, 0), (1.5, 1000), (3.0, 1500)]), started=0.0)
    assert "end_to_end_marks_per_second" not in figures
    assert figures["marks_not_applied"] == 1000
    assert figures["freshness_p50_s"] == 0.5  # only the register that was applied


def test_nothing_applied_gives_no_rate_and_no_freshness() -> None:
    figures = freshness([(1.0, 1000)], _watcher([(0.5, 0), (2.0, 0)]), started=0.0)
    assert "end_to_end_marks_per_second" not in figures
    assert figures["marks_not_applied"] == 1000
    assert figures["freshness_p99_s"] == -1
