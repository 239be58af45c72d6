"""The one rule of continuous absence and of sickness (`attendance_shared.rules.absence_runs`)
that analytics' flags and the LA's attendance and sickness returns all apply."""

from datetime import date

from attendance_bench.data import school_days

from attendance_shared.rules.absence_runs import (
    LONG_SICKNESS_SESSIONS,
    Run,
    continuous_unauthorised_runs,
    cumulative_sickness,
    illness_school_days,
    reportable,
    sickness_spells,
)

MONDAY = date(2026, 9, 7)


def test_ten_continuous_school_days_of_unauthorised_absence() -> None:
    days = school_days(MONDAY, 14)
    codes = {d: ["O", "O"] for d in days[1:11]}  # ten whole days O after one present day
    codes[days[5]] = ["G", "#"]  # a closed afternoon neither ends nor extends the run
    codes[days[11]] = ["O", "/"]  # attended in the afternoon: the run ends
    pupil_days = [(d, codes.get(d, ["/", "\\"])) for d in days]
    runs = continuous_unauthorised_runs(pupil_days)
    assert runs[0] == Run(days[1], days[10], 10, 19, days[10], ongoing=False)
    assert reportable(runs, days[10]) == [runs[0]]
    assert reportable(runs, days[11]) == []  # ended before the period began


def test_nine_days_is_not_a_case_and_authorised_absence_ends_a_run() -> None:
    days = school_days(MONDAY, 12)
    codes = {d: ["N", "N"] for d in days[:12]}
    codes[days[9]] = ["N", "M"]  # a medical appointment is authorised: the run ends
    runs = continuous_unauthorised_runs([(d, codes[d]) for d in days])
    assert [(r.school_days, r.reached_on) for r in runs] == [(9, None), (2, None)]
    assert reportable(runs, MONDAY) == []


def test_an_unmarked_session_neither_ends_nor_extends_a_run() -> None:
    """Issue 22: la-returns counted a session left unmarked as attended (ending the run) where
    analytics skipped it. Unmarked sessions are not in the input at all."""
    days = school_days(MONDAY, 12)
    marked = [(d, ["N", "N"]) for d in days]
    marked[4] = (days[4], ["N"])  # the afternoon register left the pupil off: the morning decides
    del marked[7]  # nobody marked the pupil that day at all
    runs = continuous_unauthorised_runs(marked)
    assert [(r.school_days, r.reached_on, r.ongoing) for r in runs] == [(11, days[10], True)]


def test_a_run_begun_in_july_goes_on_in_september() -> None:
    """Issue 22: the attendance return restarted each academic year; the flag did not. The
    summer has no marks, so it is skipped like a weekend."""
    july = school_days(date(2026, 7, 13), 5)
    september = school_days(date(2026, 9, 2), 6)
    runs = continuous_unauthorised_runs([(d, ["O", "O"]) for d in july + september])
    assert [(r.start, r.school_days, r.reached_on) for r in runs] == [(july[0], 11, september[4])]


def test_a_school_day_missed_through_sickness_is_two_illness_sessions() -> None:
    assert LONG_SICKNESS_SESSIONS == 30
    assert illness_school_days(30) == 15
    assert illness_school_days(31) == 15.5


def test_a_sickness_spell_counts_once_it_holds_thirty_illness_sessions() -> None:
    days = school_days(MONDAY, 20)
    codes = {d: ["I", "I"] for d in days[:16]}
    codes[days[3]] = ["I", "M"]  # ill in the morning, at the doctor's in the afternoon: still ill
    codes[days[6]] = ["M", "M"]  # no illness but not attended: neither ends nor extends
    codes[days[16]] = ["/", "\\"]  # back in school: the spell ends
    codes[days[17]] = ["I", "I"]  # a new spell
    spells = sickness_spells([(d, codes.get(d, ["/", "\\"])) for d in days])
    assert spells[0] == Run(days[0], days[15], 15, 29, None, ongoing=False)  # 14.5 days: not yet
    codes[days[16]] = ["I", "I"]
    spells = sickness_spells([(d, codes.get(d, ["/", "\\"])) for d in days])
    assert spells[0] == Run(days[0], days[17], 17, 33, days[16], ongoing=False)
    assert reportable(spells, MONDAY) == [spells[0]]


def test_fifteen_mornings_of_illness_are_seven_and_a_half_days_not_fifteen() -> None:
    """Issue 22: a spell counted a day with one I session as a whole illness day, so a return
    row reached "15 school days" on 15 sessions while the flag (30 sessions) stayed down."""
    days = school_days(MONDAY, 15)
    spells = sickness_spells([(d, ["I", "C"]) for d in days])
    assert [(s.school_days, s.sessions, s.reached_on) for s in spells] == [(15, 15, None)]
    assert reportable(spells, MONDAY) == []


def test_a_spell_spans_a_half_term_and_a_half_day_in_school_ends_it() -> None:
    before, after = school_days(date(2026, 10, 12), 10), school_days(date(2026, 11, 2), 6)
    days = [(d, ["I", "I"]) for d in before + after]  # half-term week has no register
    spells = sickness_spells(days)
    assert [(s.school_days, s.reached_on, s.ongoing) for s in spells] == [(16, after[4], True)]
    days[3] = (days[3][0], ["/", "I"])
    assert [s.school_days for s in sickness_spells(days)] == [3, 12]


def test_scattered_illness_reaching_thirty_sessions_counts_cumulatively() -> None:
    """Reg 13: 15 school days through sickness, whether consecutive or cumulative. Issue 22:
    pupils ill one day a week all term had the flag and no return row."""
    days = school_days(MONDAY, 80)
    codes = [(d, ["I", "I"] if i % 5 == 0 else ["/", "\\"]) for i, d in enumerate(days)]
    assert reportable(sickness_spells(codes), MONDAY) == []  # no spell is longer than a day
    total = cumulative_sickness(codes)
    assert total == Run(days[0], days[75], 16, 32, days[70], ongoing=False)
    assert reportable([total], MONDAY) == [total]
    assert cumulative_sickness(codes[:70]).reached_on is None  # 14 days so far
    assert cumulative_sickness([(d, ["/", "\\"]) for d in days]) is None
