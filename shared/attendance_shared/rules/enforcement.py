"""The formal and legal stages of attendance casework: Notices to Improve, penalty notices and
education supervision orders. Pure: each rule takes what it judges and answers.

Sources (the domain reference's "formal and legal stages"): the National Framework for
penalty notices (from 19 August 2024), the Education (Penalty Notices) (England)
Regulations 2007, Children Act 1989 s.36 and LA practice for Notices to Improve.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

from attendance_shared.clock import add_years
from attendance_shared.rules.calendar import Calendar
from attendance_shared.rules.codes import UNAUTHORISED_ABSENCE_CODES
from attendance_shared.rules.figures import AttendanceFigures
from attendance_shared.rules.thresholds import PENALTY_NOTICE_SCHOOL_WEEKS, PENALTY_NOTICE_SESSIONS

# --- Notice to Improve -------------------------------------------------------------------
# The improvement period is 3 to 6 school weeks in the LA practice found; each LA may set
# its own bounds (support-service's LA settings).
NTI_MIN_SCHOOL_WEEKS = 3
NTI_MAX_SCHOOL_WEEKS = 6
ImprovementKind = Literal["no_unauthorised_absence", "attendance_at_least"]


@dataclass(frozen=True, slots=True)
class ImprovementCriterion:
    kind: ImprovementKind
    min_attendance_percent: float | None = None

    def describe(self) -> str:
        if self.kind == "no_unauthorised_absence":
            return "no unauthorised absence in the improvement period"
        return f"attendance of at least {self.min_attendance_percent:g}% in the improvement period"


@dataclass(frozen=True, slots=True)
class ImprovementJudgement:
    """The pupil's marks in the period so far against the criterion. `status` is `met` or
    `not_met` once the period is over, or once it can no longer be met; `on_track` or
    `off_track` while it runs."""

    status: Literal["on_track", "off_track", "met", "not_met"]
    possible: int
    attended: int
    unauthorised: int
    attendance_percent: float | None
    why: str


def judge_improvement(
    criterion: ImprovementCriterion, codes: Iterable[str], *, period_over: bool
) -> ImprovementJudgement:
    """Judge the period's marks so far. An unauthorised absence breaks "no unauthorised
    absence" at once; an attendance target is judged on the sessions so far, and finally
    on the whole period (unmarked sessions count nowhere, as in every figure)."""
    figures = AttendanceFigures.from_codes(codes)
    percent = figures.attendance_rate
    base = {
        "possible": figures.possible,
        "attended": figures.attended,
        "unauthorised": figures.unauthorised,
        "attendance_percent": percent,
    }
    if criterion.kind == "no_unauthorised_absence":
        if figures.unauthorised:
            return ImprovementJudgement(
                "not_met", **base, why=f"{figures.unauthorised} session(s) of unauthorised absence in the period"
            )
        why = "no unauthorised absence" + (" in the period" if period_over else " so far")
        return ImprovementJudgement("met" if period_over else "on_track", **base, why=why)
    target = criterion.min_attendance_percent or 0.0
    reached = figures.possible == 0 or figures.attended * 100 >= target * figures.possible
    shown = "no possible sessions yet" if percent is None else f"attendance {percent:g}%"
    if period_over:
        status: Literal["on_track", "off_track", "met", "not_met"] = "met" if reached else "not_met"
        return ImprovementJudgement(status, **base, why=f"{shown} against a target of {target:g}% over the period")
    return ImprovementJudgement(
        "on_track" if reached else "off_track", **base, why=f"{shown} so far against a target of {target:g}%"
    )


def improvement_weeks_problem(weeks: int, *, minimum: int, maximum: int) -> str | None:
    if not minimum <= weeks <= maximum:
        return f"the improvement period must be {minimum} to {maximum} school weeks in this LA, not {weeks}"
    return None


# --- Penalty notices ---------------------------------------------------------------------
PENALTY_LOWER_AMOUNT = 80  # paid within 21 days (a first notice)
PENALTY_FULL_AMOUNT = 160  # paid within 28 days; a second notice is this, flat
PENALTY_LOWER_DAYS = 21
PENALTY_FULL_DAYS = 28
PENALTY_LIMIT = 2  # per parent, per child, in a rolling 3 years
PENALTY_LIMIT_YEARS = 3
WithdrawalGround = Literal["wrong_person", "outside_the_code", "material_error"]
NoticeOutcome = Literal["issued", "paid", "withdrawn", "prosecuted"]


@dataclass(frozen=True, slots=True)
class EarlierNotice:
    """A notice already issued to the same parent for the same child."""

    issued_on: date
    withdrawn: bool


@dataclass(frozen=True, slots=True)
class NoticeAmounts:
    lower: int | None  # payable within PENALTY_LOWER_DAYS; None for a second notice (flat rate)
    full: int

    def payable(self, issued_on: date, paid_on: date) -> int | None:
        """What settles the notice when paid on `paid_on`; None once 28 days have passed."""
        days = (paid_on - issued_on).days
        if days < 0 or days > PENALTY_FULL_DAYS:
            return None
        if self.lower is not None and days <= PENALTY_LOWER_DAYS:
            return self.lower
        return self.full


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def counted_notices(earlier: Sequence[EarlierNotice], issued_on: date) -> list[EarlierNotice]:
    """Notices that count toward the limit on `issued_on`: not withdrawn, issued in the
    rolling 3 years before it."""
    since = _years_before(issued_on, PENALTY_LIMIT_YEARS)
    return [n for n in earlier if not n.withdrawn and since < n.issued_on <= issued_on]


def limit_refusal(earlier: Sequence[EarlierNotice], issued_on: date) -> str | None:
    """Why a notice may not be issued, or None: a third notice to the same parent for the same
    child in a rolling 3 years is not allowed by the framework."""
    counted = counted_notices(earlier, issued_on)
    if len(counted) < PENALTY_LIMIT:
        return None
    dates = " and ".join(sorted(str(n.issued_on) for n in counted))
    return (
        f"the National Framework allows at most {PENALTY_LIMIT} penalty notices to the same parent for the same "
        f"child in a rolling {PENALTY_LIMIT_YEARS} years, and notices were issued on {dates}: consider "
        "prosecution, an attendance contract or an education supervision order instead"
    )


def notice_amounts(earlier: Sequence[EarlierNotice], issued_on: date) -> NoticeAmounts:
    """£80 within 21 days or £160 within 28 for a first notice; a second within 3 years is
    £160 flat."""
    if counted_notices(earlier, issued_on):
        return NoticeAmounts(lower=None, full=PENALTY_FULL_AMOUNT)
    return NoticeAmounts(lower=PENALTY_LOWER_AMOUNT, full=PENALTY_FULL_AMOUNT)


def rolling_window_start(calendar: Calendar, end: date, weeks: int = PENALTY_NOTICE_SCHOOL_WEEKS) -> date:
    """The first day of the rolling `weeks` school weeks that end with `end`'s week: a school
    week is any week with at least one school day, so holidays do not count."""
    monday = end - timedelta(days=end.weekday())
    counted = 0
    start = monday
    for _ in range(weeks * 4 + 10):  # holidays in between: at most a few weeks each term
        week_days = [monday + timedelta(days=d) for d in range(5)]
        if any(calendar.is_school_day(d) for d in week_days):
            counted += 1
            start = monday
            if counted == weeks:
                break
        monday -= timedelta(weeks=1)
    return start


@dataclass(frozen=True, slots=True)
class NoticeSession:
    day: date
    session: str


def session_problems(
    sessions: Sequence[NoticeSession],
    *,
    codes: dict[tuple[date, str], str],
    used: set[tuple[date, str]],
    window_start: date,
    issued_on: date,
) -> list[tuple[str, str]]:
    """What is wrong with the sessions a notice relies on, as (field, message): each must be
    an unauthorised absence (G, N, O or U) on the register, inside the rolling 10 school weeks
    up to the issue date, and not already ground another notice; there must be at least 10."""
    problems: list[tuple[str, str]] = []
    seen: set[tuple[date, str]] = set()
    for i, s in enumerate(sessions):
        key = (s.day, s.session)
        field = f"sessions[{i}]"
        if key in seen:
            problems.append((field, f"{s.day} {s.session} is listed twice"))
        seen.add(key)
        if not window_start <= s.day <= issued_on:
            problems.append(
                (
                    field,
                    f"{s.day} {s.session} is outside the rolling {PENALTY_NOTICE_SCHOOL_WEEKS} school weeks "
                    f"({window_start} to {issued_on})",
                )
            )
        code = codes.get(key)
        if code not in UNAUTHORISED_ABSENCE_CODES:
            shown = f"marked {code!r}" if code else "not marked"
            problems.append((field, f"{s.day} {s.session} is {shown}, not an unauthorised absence (G, N, O or U)"))
        if key in used:
            problems.append((field, f"{s.day} {s.session} already grounds another penalty notice"))
    if len(seen) < PENALTY_NOTICE_SESSIONS:
        problems.append(
            (
                "sessions",
                f"a notice needs at least {PENALTY_NOTICE_SESSIONS} sessions of unauthorised absence, not {len(seen)}",
            )
        )
    return problems


# --- Education supervision orders --------------------------------------------------------
ESO_YEARS = 1
ESO_MAX_YEARS = 3


def eso_extension_problem(made_on: date, current_expiry: date, extend_to: date) -> str | None:
    """An order lasts a year and may be extended, in all to at most 3 years from when it was made."""
    if extend_to <= current_expiry:
        return f"an extension must end after the order's current expiry ({current_expiry})"
    latest = add_years(made_on, ESO_MAX_YEARS)
    if extend_to > latest:
        return f"an education supervision order lasts at most {ESO_MAX_YEARS} years from when it was made ({latest})"
    return None
