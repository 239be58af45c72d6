"""Request ids and W3C trace context: pure parsing, no I/O."""

from attendance_shared.tracing import (
    log_context,
    new_traceparent,
    trace_id_of,
    traced,
    traceparent_var,
    valid_traceparent,
)

PARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def test_a_well_formed_traceparent_is_kept_and_anything_else_dropped() -> None:
    assert valid_traceparent(PARENT) == PARENT
    assert valid_traceparent(PARENT.upper()) == PARENT
    for bad in (None, "", "01-" + PARENT[3:], "00-" + "0" * 32 + "-00f067aa0ba902b7-01", "00-abc-def-01"):
        assert valid_traceparent(bad) is None


def test_a_new_span_stays_in_its_trace() -> None:
    child = new_traceparent(trace_id_of(PARENT))
    assert valid_traceparent(child) == child
    assert trace_id_of(child) == trace_id_of(PARENT) and child != PARENT
    assert trace_id_of(new_traceparent()) != trace_id_of(PARENT)


def test_work_traced_under_an_event_logs_its_trace_id() -> None:
    assert traceparent_var.get() is None
    with traced(PARENT):
        assert log_context()["trace_id"] == trace_id_of(PARENT)
    with traced("not a traceparent"):
        assert "trace_id" not in log_context()
    assert traceparent_var.get() is None
