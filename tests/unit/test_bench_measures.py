"""How the bench reads freshness and the end-to-end rate off analytics' applied count (pure
arithmetic over recorded samples, no timing)."""

from attendance_bench.measures import Accepted, ConsumedWatcher, freshness


def _watcher(samples: list[tuple[float, float]]) -> ConsumedWatcher:
    watcher = ConsumedWatcher(committed=None)  # type: ignore[arg-type] - only the samples are read
    watcher.samples = samples
    return watcher


def test_every_mark_applied_gives_the_rate_and_each_registers_freshness() -> None:
    accepted = [Accepted(1.0, 1, 1000), Accepted(2.0, 1, 1000)]
    figures = freshness(accepted, _watcher([(0.5, 0), (1.5, 1), (3.0, 2)]), started=0.0)
    assert figures["end_to_end_marks_per_second"] == round(2000 / 3.0)
    assert figures["freshness_p50_s"] == 0.75  # 0.5 s and 1.0 s
    assert "marks_not_applied" not in figures


def test_marks_left_unapplied_at_the_timeout_give_no_rate() -> None:
    # Analytics stopped after the first of two registers: a rate over what it had applied by then would be
    # the rate of a shorter run, not this one's.
    accepted = [Accepted(1.0, 1, 1000), Accepted(2.0, 1, 1000)]
    figures = freshness(accepted, _watcher([(0.5, 0), (1.5, 1), (3.0, 1)]), started=0.0)
    assert "end_to_end_marks_per_second" not in figures
    assert figures["marks_not_applied"] == 1000
    assert figures["freshness_p50_s"] == 0.5  # only the register that was applied


def test_nothing_applied_gives_no_rate_and_no_freshness() -> None:
    figures = freshness([Accepted(1.0, 1, 1000)], _watcher([(0.5, 0), (2.0, 0)]), started=0.0)
    assert "end_to_end_marks_per_second" not in figures
    assert figures["marks_not_applied"] == 1000
    assert figures["freshness_p99_s"] == -1


def test_the_rate_counts_marks_while_freshness_follows_records() -> None:
    """A register is one record of many marks, an amendment one of one: the consumers' offsets
    count records, and the rate is of marks. A backlog of 6,000 marks left when the last answer
    came gives analytics' own catch-up rate."""
    accepted = [Accepted(1.0, 1, 1000), Accepted(1.1, 1, 1), Accepted(2.0, 1, 6000)]
    samples = [(0.5, 0), (1.5, 2), (2.0, 2), (5.0, 3)]
    figures = freshness(accepted, _watcher(samples), started=0.0)
    assert figures["marks"] == 7001 and figures["end_to_end_marks_per_second"] == round(7001 / 5.0)
    assert figures["analytics_catch_up_marks_per_second"] == round(6000 / 3.0)
    assert figures["freshness_p99_s"] == 3.0
