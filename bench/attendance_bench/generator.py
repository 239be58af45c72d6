"""A seeded school year of attendance for N schools × M pupils, as the operations their MIS
would send day by day: admissions, whole-session registers, amendments and deletions.

Pure: no I/O and no clock, so the same seed gives the same year and the unit tests can check
its statistics. Each pupil gets an absence propensity (the share of sessions they are expected
to miss) from a quantile curve calibrated against England's figures (attendance-rules §3:
persistent absence about 18-20%, severe absence about 2%, overall absence about 7%); pupil
characteristics move a pupil along that curve, so FSM and SEN pupils miss more, as nationally.
"""

import random
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, time, timedelta
from typing import Literal, TypeVar

from attendance_bench.data import make_upn
from attendance_shared.rules.calendar import Closure, SchoolCalendar, Session, Term
from attendance_shared.rules.codes import Category, category_of

Phase = Literal["primary", "secondary"]
Mark = dict[str, object]
T = TypeVar("T")

ACADEMIC_YEAR = 2025
# Fifty real LA numbers (the London boroughs, then the metropolitan districts), which the UPN
# check accepts: the schools take them in turn.
LA_CODES = tuple(
    str(n)
    for n in (
        *range(201, 214),
        *range(301, 321),
        *range(330, 337),
        *range(340, 345),
        *range(350, 355),
    )
)
# A typical English LA's published 2025/26 dates: 195 working days, 5 of them INSET, so 190
# days for pupils; the early-May bank holiday falls in term, so it is a planned closure ('#').
TERMS = (
    Term("Autumn 2025", date(2025, 9, 1), date(2025, 12, 19), date(2025, 10, 27), date(2025, 10, 31)),
    Term("Spring 2026", date(2026, 1, 5), date(2026, 3, 27), date(2026, 2, 16), date(2026, 2, 20)),
    Term("Summer 2026", date(2026, 4, 13), date(2026, 7, 20), date(2026, 5, 25), date(2026, 5, 29)),
)
INSET_DAYS = (date(2025, 9, 1), date(2025, 9, 2), date(2025, 10, 24), date(2026, 1, 5), date(2026, 4, 13))
BANK_HOLIDAY = Closure(date(2026, 5, 4), "planned_closure", reason="Early May bank holiday")
# Schools used as polling stations close for the day; some close early on the last day of term.
POLLING_DAY = Closure(date(2026, 5, 7), "planned_closure", reason="Polling station for local elections")
EARLY_FINISH = Closure(date(2025, 12, 19), "planned_closure", session="pm", reason="Early finish for Christmas")
EXAM_SEASON = (date(2026, 5, 11), date(2026, 6, 19))  # Year 11 study leave (S)
WORK_EXPERIENCE = (date(2026, 7, 6), date(2026, 7, 10))  # Year 10 (W)

AM_OPENS, AM_CLOSES, PM_OPENS, PM_CLOSES = time(8, 40), time(9, 0), time(13, 10), time(13, 30)
OPEN_MINUTES = 20  # L is late within this many minutes of registration opening, U after it

# Shares near England's (DfE "Schools, pupils and their characteristics" 2024/25, rounded):
# FSM about 26%, SEN support about 14%, EHCP about 5%, EAL about 20%, looked after well under
# 1%, a social worker about 3%. Disadvantage and SEN shift a pupil up the absence curve.
FSM, SEN_SUPPORT, EHCP, EAL, LOOKED_AFTER, SOCIAL_WORKER = 0.26, 0.14, 0.05, 0.20, 0.007, 0.03
MID_YEAR_ADMISSIONS, MID_YEAR_DELETIONS = 0.05, 0.04  # of the roll, over the year
DUAL_REGISTERED, ALTERNATIVE_PROVISION = 0.003, 0.004  # D one weekday; K two weekdays
# Whole-day absences start more on Mondays and Fridays (DfE daily data shows both).
WEEKDAY_FACTOR = (1.25, 0.9, 0.85, 0.9, 1.2)
WHOLE_DAY_SHARE = 0.85  # of a pupil's absence; the rest is single sessions (appointments, U)

FORENAMES = ("Olivia", "Amelia", "Isla", "Ava", "Muhammad", "Noah", "Oliver", "George", "Leo", "Freya", "Aisha", "Jack")
SURNAMES = ("Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Khan", "Patel", "Evans", "Begum", "Wright")
# Regulation 9 grounds: most leavers move to another school (a) or away (g).
GROUNDS = (("a", 0.63), ("g", 0.15), ("f", 0.12), ("h", 0.04), ("o", 0.03), ("j", 0.01), ("l", 0.02))
AMENDED_N = (("I", 0.55), ("O", 0.25), ("G", 0.1), ("C", 0.05))  # else the N stands, never explained


def _pick(rng: random.Random, weighted: Sequence[tuple[T, float]]) -> T:
    return rng.choices([v for v, _ in weighted], weights=[w for _, w in weighted])[0]


def propensity(u: float) -> float:
    """The share of sessions a pupil at rank `u` (0 attends most, 1 least) is expected to miss.

    Calibrated by simulating whole years (tests/unit/test_bench_generator.py checks the result):
    about three in five pupils above 95% attendance, the top fifth at 10% or more (persistent),
    the top 2% at half or more (severe), and an overall absence rate near 7%."""
    if u < 0.6:
        return 0.045 * (u / 0.6) ** 1.6
    if u < 0.82:
        return 0.045 + 0.05 * (u - 0.6) / 0.22
    if u < 0.98:
        return 0.095 + 0.3 * ((u - 0.82) / 0.16) ** 2
    return 0.5 + 0.4 * (u - 0.98) / 0.02


@dataclass(frozen=True, slots=True)
class Cause:
    code: str
    weight_low: float  # for a pupil who rarely misses school
    weight_high: float  # for a severely absent one (weights are interpolated in between)
    lengths: tuple[tuple[int, float], ...] = ((1, 1.0),)  # school days, with weights

    def mean_length(self) -> float:
        return sum(n * w for n, w in self.lengths) / sum(w for _, w in self.lengths)


# Why a whole-day absence happened. Illness comes in spells; holidays in term time (G) run for
# days; severely absent pupils miss more for unauthorised reasons, suspension and part-time timetables.
CAUSES = (
    Cause("I", 0.58, 0.25, ((1, 0.45), (2, 0.25), (3, 0.15), (4, 0.08), (5, 0.07))),
    Cause("N", 0.14, 0.2),
    Cause("O", 0.06, 0.26, ((1, 0.6), (2, 0.25), (3, 0.15))),
    Cause("G", 0.05, 0.1, ((3, 0.3), (4, 0.3), (5, 0.4))),
    Cause("C", 0.05, 0.04, ((1, 0.7), (2, 0.3))),
    Cause("M", 0.04, 0.01),
    Cause("E", 0.02, 0.06, ((1, 0.5), (2, 0.3), (3, 0.2))),
    Cause("R", 0.03, 0.01),
    Cause("C2", 0.0, 0.06, ((5, 1.0),)),
    Cause("T", 0.01, 0.01, ((2, 0.5), (5, 0.5))),
    Cause("C1", 0.002, 0.0),
)
# A single session missed: appointments, arriving after the register closed, sent home ill.
SINGLE_SESSION = (("M", 0.45), ("U", 0.25), ("I", 0.2), ("O", 0.08), ("J1", 0.02))
NOTES = {
    "B": "Off-site music examination",
    "K": "Alternative provision arranged by the local authority",
    "Y1": "School bus did not run",
    "Y7": "Flooded road to the village",
}


def school_calendar(closures: Sequence[Closure] = ()) -> SchoolCalendar:
    inset = tuple(Closure(day, "inset", reason="INSET day") for day in INSET_DAYS)
    return SchoolCalendar(ACADEMIC_YEAR, TERMS, (*inset, BANK_HOLIDAY, *closures))


def calendar_body(calendar: SchoolCalendar) -> dict:
    """The calendar as PUT /v1/schools/{urn}/calendar takes it (CalendarIn)."""
    return {
        "academic_year": calendar.academic_year,
        "terms": [
            {
                "name": t.name,
                "start": t.start.isoformat(),
                "end": t.end.isoformat(),
                "half_term_start": t.half_term_start.isoformat() if t.half_term_start else None,
                "half_term_end": t.half_term_end.isoformat() if t.half_term_end else None,
            }
            for t in calendar.terms
        ],
        "closures": [
            {"day": c.day.isoformat(), "kind": c.kind, "session": c.session, "reason": c.reason}
            for c in calendar.closures
        ],
    }


@dataclass(slots=True)
class Pupil:
    upn: str
    year_group: str
    record: dict  # the admission body without upn and admission_date
    admission_date: date
    score: float  # latent absence risk; its rank over every pupil gives the propensity
    absence: float = 0.0
    late: float = 0.0
    left_on: date | None = None
    ground: str | None = None
    dual_weekday: int | None = None
    provision_weekdays: tuple[int, ...] = ()
    # Day-by-day state: the code of the absence spell under way and school days it has left.
    spell_code: str = ""
    spell_left: int = 0

    def on_roll(self, day: date) -> bool:
        return self.admission_date <= day and (self.left_on is None or day <= self.left_on)

    def admission_body(self) -> dict:
        return {"upn": self.upn, "admission_date": self.admission_date.isoformat(), **self.record}

    def deletion_body(self) -> dict:
        assert self.left_on is not None and self.ground is not None
        body: dict = {"ground": self.ground, "date": self.left_on.isoformat()}
        if self.ground == "a":
            start = (self.left_on + timedelta(days=1)).isoformat()
            body["destination"] = {"school_name": "A school in another LA", "start_date": start}
        return body


@dataclass(slots=True)
class School:
    urn: str
    la_code: str
    name: str
    phase: Phase
    calendar: SchoolCalendar
    pupils: list[Pupil]
    trips: dict[date, str] = field(default_factory=dict)  # day -> year group on a visit (V)

    def body(self) -> dict:
        """PUT /v1/schools/{urn} (SchoolIn)."""
        return {
            "la_code": self.la_code,
            "name": self.name,
            "phase": self.phase,
            "am_register_opens": AM_OPENS.isoformat("minutes"),
            "am_register_closes": AM_CLOSES.isoformat("minutes"),
            "pm_register_opens": PM_OPENS.isoformat("minutes"),
            "pm_register_closes": PM_CLOSES.isoformat("minutes"),
        }

    def calendar_body(self) -> dict:
        return calendar_body(self.calendar)


@dataclass(frozen=True, slots=True)
class Register:
    urn: str
    day: date
    session: Session
    marks: list[Mark]


@dataclass(frozen=True, slots=True)
class Amendment:
    urn: str
    day: date
    session: Session
    upn: str
    previous_code: str  # not sent: lets a summary follow the register without replaying it
    body: dict


@dataclass(frozen=True, slots=True)
class Admission:
    urn: str
    upn: str
    body: dict


@dataclass(frozen=True, slots=True)
class Deletion:
    urn: str
    upn: str
    body: dict


@dataclass(frozen=True, slots=True)
class SchoolDay:
    """What every school's MIS sends on one day, in the order it sends it: pupils joining
    that day, the morning then the afternoon registers, amendments of earlier marks, then
    pupils whose last day this was."""

    day: date
    admissions: list[Admission]
    registers: list[Register]
    amendments: list[Amendment]
    deletions: list[Deletion]

    @property
    def marks(self) -> int:
        return sum(len(r.marks) for r in self.registers)


def _date_of_birth(rng: random.Random, year_group: str) -> date:
    # Year 1 in 2025/26 was born between 1 Sep 2018 and 31 Aug 2019; Reception a year later.
    offset = 0 if year_group == "R" else int(year_group)
    first = date(2020 - offset, 9, 1)
    return first + timedelta(days=rng.randrange(365))


def _record(rng: random.Random, year_group: str, serial: int) -> dict:
    fsm = rng.random() < FSM
    looked_after = rng.random() < LOOKED_AFTER
    has_worker = looked_after or rng.random() < SOCIAL_WORKER
    sen_roll = rng.random()
    sen = "ehcp" if sen_roll < EHCP else "sen_support" if sen_roll < EHCP + SEN_SUPPORT else "none"
    record: dict = {
        "legal_surname": rng.choice(SURNAMES),
        "legal_forename": rng.choice(FORENAMES),
        "date_of_birth": _date_of_birth(rng, year_group).isoformat(),
        "sex": rng.choice("FM"),
        "year_group": year_group,
        "address": {"lines": [f"{1 + serial % 200} Bench Street"], "town": "Leeds", "postcode": "LS1 1AA"},
        "contacts": [{"name": "Parent", "relationship": "parent", "email": f"parent{serial}@example.org"}],
        "fsm_eligible": fsm,
        # Pupil premium follows FSM in the last six years and care, so it is a little wider than FSM.
        "pupil_premium": fsm or looked_after or rng.random() < 0.04,
        "sen_status": sen,
        "eal": rng.random() < EAL,
        "looked_after": looked_after,
    }
    if has_worker:
        record["social_worker"] = {"name": "Sam Social Worker", "email": "sw@example.org"}
    if looked_after:
        record["virtual_school_contact"] = {"name": "Virtual School Head", "email": "vsh@example.org"}
    return record


def _risk(record: dict, secondary: bool) -> float:
    """How far characteristics move a pupil up the absence curve (national gaps, §3)."""
    shift = 0.35 * secondary + 0.6 * record["fsm_eligible"]
    shift += {"none": 0.0, "sen_support": 0.5, "ehcp": 0.8}[record["sen_status"]]
    return shift + 0.5 * ("social_worker" in record)


def make_schools(count: int, pupils: int, seed: int, *, first_urn: int = 500000) -> list[School]:
    """`count` schools of `pupils` on roll on the first day, plus the year's mid-year joiners."""
    schools: list[School] = []
    every: list[tuple[float, Pupil]] = []
    teaching_days = school_calendar().school_days(TERMS[0].start, TERMS[-1].end)
    for index in range(count):
        rng = random.Random(f"{seed}:school:{index}")
        urn, la_code = str(first_urn + index), LA_CODES[index % len(LA_CODES)]
        # About a quarter of schools are secondary; the first two include one of each phase.
        phase: Phase = "secondary" if index % 4 == 1 else "primary"
        years = [str(y) for y in range(7, 12)] if phase == "secondary" else ["R", *map(str, range(1, 7))]
        closures = []
        if rng.random() < 0.3:
            closures.append(POLLING_DAY)
        if rng.random() < 0.5:
            closures.append(EARLY_FINISH)
        school_effect = rng.gauss(0, 0.3)
        joiners = round(pupils * MID_YEAR_ADMISSIONS)
        roll: list[Pupil] = []
        for serial in range(pupils + joiners):
            year_group = years[serial * len(years) // max(pupils, 1) % len(years)]
            record = _record(rng, year_group, serial)
            if serial < pupils:
                # Joined in September of their first year here (Reception or Year 7 and up).
                entry = 0 if year_group == "R" else int(year_group) - (7 if phase == "secondary" else 0)
                admitted = date(ACADEMIC_YEAR - entry, 9, 1)
            else:
                admitted = rng.choice(teaching_days[10:-10])
            score = rng.gauss(0, 1) + school_effect + _risk(record, phase == "secondary")
            pupil = Pupil(make_upn(la_code, 1000 + index, serial), year_group, record, admitted, score)
            pupil.late = _pick(rng, ((0.005, 0.7), (0.03, 0.25), (0.1, 0.05)))
            if rng.random() < DUAL_REGISTERED:
                pupil.dual_weekday = rng.randrange(5)
            elif rng.random() < ALTERNATIVE_PROVISION:
                pupil.provision_weekdays = (2, 3)
            roll.append(pupil)
            every.append((score, pupil))
        for pupil in rng.sample(roll[:pupils], round(pupils * MID_YEAR_DELETIONS)):
            pupil.left_on = rng.choice(teaching_days[5:-5])
            pupil.ground = _pick(rng, GROUNDS)
        trips = {rng.choice(teaching_days): rng.choice(years) for _ in range(6)}
        schools.append(
            School(urn, la_code, f"Bench {phase.title()} School {urn}", phase, school_calendar(closures), roll, trips)
        )
    # The rank of each pupil's risk over every pupil fixes their propensity, so the year's
    # distribution follows the calibrated curve whatever the characteristics' mix.
    every.sort(key=lambda pair: pair[0])
    for rank, (_, pupil) in enumerate(every):
        pupil.absence = propensity((rank + 0.5) / len(every))
    return schools


class _SchoolYear:
    """One school's register, advanced a day at a time with its own random stream."""

    def __init__(self, school: School, seed: int) -> None:
        self.school = school
        self.rng = random.Random(f"{seed}:days:{school.urn}")
        self.pending: dict[date, list[Amendment]] = {}  # amendments by the day they are made
        # Per pupil: the chance a whole-day absence starts, of one session missed, cause weights.
        self.chances = {p.upn: _day_chances(p.absence) for p in school.pupils}

    def day(self, day: date) -> tuple[list[Admission], list[Register], list[Amendment], list[Deletion]]:
        school = self.school
        open_sessions = school.calendar.open_sessions(day)
        admissions = [
            Admission(school.urn, p.upn, p.admission_body()) for p in school.pupils if p.admission_date == day
        ]
        on_roll = [p for p in school.pupils if p.on_roll(day)]
        registers: list[Register] = []
        closure = next((c for c in school.calendar.closures if c.day == day and c.whole_day), None)
        if not open_sessions:
            # A planned closure is still a day on the register: every pupil is marked '#'.
            # INSET days and holidays have no register.
            if closure is not None and closure.kind == "planned_closure":
                note = closure.reason or "Planned closure"
                for session in ("am", "pm"):
                    marks: list[Mark] = [{"upn": p.upn, "code": "#", "note": note} for p in on_roll]
                    registers.append(Register(school.urn, day, session, marks))
        else:
            codes = {p.upn: self._pupil_day(p, day) for p in on_roll}
            for index, session in enumerate(("am", "pm")):
                if session in open_sessions:
                    marks = [codes[p.upn][index] for p in on_roll]
                else:
                    marks = [{"upn": p.upn, "code": "#", "note": "Early finish"} for p in on_roll]
                registers.append(Register(school.urn, day, session, marks))
                for mark in marks:
                    if mark["code"] == "N":
                        self._schedule_amendment(day, session, str(mark["upn"]))
        amendments = self.pending.pop(day, [])
        deletions = [Deletion(school.urn, p.upn, p.deletion_body()) for p in school.pupils if p.left_on == day]
        return admissions, registers, amendments, deletions

    def _schedule_amendment(self, day: date, session: Session, upn: str) -> None:
        rng = self.rng
        if rng.random() < 0.05:
            return  # never explained: the N stands
        code = _pick(rng, AMENDED_N)
        reason = {"I": "Parent phoned: illness", "O": "No acceptable reason given", "G": "Holiday not agreed"}
        # Resolved one to three school days later: on a later register day of this school.
        due = self.school.calendar.school_days(day + timedelta(days=1), day + timedelta(days=14))
        if not due:
            return
        when = due[min(rng.randrange(3), len(due) - 1)]
        body = {
            "code": code,
            "reason": reason.get(code, "Leave granted after the event"),
            "made_by": {"name": "Alex Morgan", "position": "Attendance officer"},
        }
        self.pending.setdefault(when, []).append(Amendment(self.school.urn, day, session, upn, "N", body))

    def _pupil_day(self, pupil: Pupil, day: date) -> tuple[Mark, Mark]:
        rng, weekday, upn = self.rng, day.weekday(), pupil.upn
        if pupil.dual_weekday == weekday:
            return {"upn": upn, "code": "D"}, {"upn": upn, "code": "D"}
        if pupil.spell_left > 0:
            pupil.spell_left -= 1
            return {"upn": upn, "code": pupil.spell_code}, {"upn": upn, "code": pupil.spell_code}
        if rng.random() < 0.0003:
            code = rng.choice(("Y1", "Y7"))
            return {"upn": upn, "code": code, "note": NOTES[code]}, {"upn": upn, "code": code, "note": NOTES[code]}
        whole_day, single, weights = self.chances[upn]
        if rng.random() < whole_day * WEEKDAY_FACTOR[weekday] / _MEAN_WEEKDAY_FACTOR:
            cause = rng.choices(CAUSES, weights=weights)[0]
            pupil.spell_code = cause.code
            pupil.spell_left = _pick(rng, cause.lengths) - 1
            return {"upn": upn, "code": cause.code}, {"upn": upn, "code": cause.code}
        am = self._session(pupil, day, "am", single)
        pm = self._session(pupil, day, "pm", single)
        return am, pm

    def _session(self, pupil: Pupil, day: date, session: Session, single: float) -> Mark:
        rng, upn = self.rng, pupil.upn
        if rng.random() < single:
            code = _pick(rng, SINGLE_SESSION)
            if code == "J1" and pupil.year_group != "11":
                code = "M"
            if code == "U":
                return {"upn": upn, "code": "U", "minutes_late": OPEN_MINUTES + rng.randint(1, 90)}
            return {"upn": upn, "code": code}
        exams = pupil.year_group == "11" and session == "pm" and EXAM_SEASON[0] <= day <= EXAM_SEASON[1]
        if exams and rng.random() < 0.15:
            return {"upn": upn, "code": "S"}
        if day.weekday() in pupil.provision_weekdays:
            return {"upn": upn, "code": "K", "note": NOTES["K"]}
        if self.school.trips.get(day) == pupil.year_group:
            return {"upn": upn, "code": "V"}
        if pupil.year_group == "10" and WORK_EXPERIENCE[0] <= day <= WORK_EXPERIENCE[1]:
            return {"upn": upn, "code": "W"}
        roll = rng.random()
        if roll < 0.001:
            return {"upn": upn, "code": "B", "note": NOTES["B"]}
        if roll < 0.004 and self.school.phase == "secondary":
            return {"upn": upn, "code": "P"}
        if rng.random() < pupil.late * (1.0 if session == "am" else 0.3):
            return {"upn": upn, "code": "L", "minutes_late": rng.randint(1, OPEN_MINUTES)}
        return {"upn": upn, "code": "/" if session == "am" else "\\"}


_MEAN_WEEKDAY_FACTOR = sum(WEEKDAY_FACTOR) / len(WEEKDAY_FACTOR)


def _interpolated(cause: Cause, severity: float) -> float:
    return cause.weight_low + (cause.weight_high - cause.weight_low) * severity


def _day_chances(absence: float) -> tuple[float, float, list[float]]:
    """The chance a whole-day absence starts on a day the pupil is in school, and the chance
    of missing one session otherwise, so that expected absence is `absence`: whole-day spells
    take WHOLE_DAY_SHARE of it, of mean length L, hence a start chance f / (L(1 - f) + f)."""
    severity = min(absence / 0.5, 1.0)
    weights = [_interpolated(c, severity) for c in CAUSES]
    mean_length = sum(w * c.mean_length() for w, c in zip(weights, CAUSES, strict=True)) / sum(weights)
    days_off = absence * WHOLE_DAY_SHARE
    start = days_off / (mean_length * (1 - days_off) + days_off)
    single = (absence - days_off) / (1 - days_off)
    return start, single, weights


def school_year(schools: Sequence[School], seed: int, *, start: date | None = None) -> Iterator[SchoolDay]:
    """Every day with something to send, in order, from the first day of the year (or `start`:
    earlier days are simulated, so the year is the same, but not yielded)."""
    years = [_SchoolYear(school, seed) for school in schools]
    day, last = TERMS[0].start, TERMS[-1].end
    while day <= last:
        if day.weekday() < 5:
            parts = [year.day(day) for year in years]
            admissions = [a for p in parts for a in p[0]]
            registers = [r for session in ("am", "pm") for p in parts for r in p[1] if r.session == session]
            amendments = [a for p in parts for a in p[2]]
            deletions = [d for p in parts for d in p[3]]
            if (start is None or day >= start) and (admissions or registers or amendments or deletions):
                yield SchoolDay(day, admissions, registers, amendments, deletions)
        day += timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Summary:
    """What the generated data holds, in DfE's measures (attendance-rules §2.1)."""

    enrolments: int
    marks: int
    amendments: int
    admissions: int
    deletions: int
    overall_absence_rate: float
    persistent_absence_share: float  # enrolments missing 10% or more of their possible sessions
    severe_absence_share: float  # 50% or more
    above_95_share: float  # enrolments attending more than 95%
    codes: dict[str, int]

    @property
    def categories(self) -> set[Category]:
        return {category_of(code) for code in self.codes}


def summarise(days: Iterable[SchoolDay]) -> Summary:
    """DfE's measures of the generated registers, amendments applied (an N later explained
    stays an absence, but its code changes)."""
    possible: Counter[tuple[str, str]] = Counter()
    absent: Counter[tuple[str, str]] = Counter()
    codes: Counter[str] = Counter()
    marks = amendments = admissions = deletions = 0

    def count(key: tuple[str, str], code: str, sign: int) -> None:
        category = category_of(code)
        possible[key] += sign * category.is_possible_session
        absent[key] += sign * category.counts_as_absence

    for school_day in days:
        admissions += len(school_day.admissions)
        deletions += len(school_day.deletions)
        for register in school_day.registers:
            marks += len(register.marks)
            for mark in register.marks:
                code = str(mark["code"])
                codes[code] += 1
                count((register.urn, str(mark["upn"])), code, 1)
        for amendment in school_day.amendments:
            amendments += 1
            key = (amendment.urn, amendment.upn)
            count(key, amendment.previous_code, -1)
            count(key, amendment.body["code"], 1)
            codes[amendment.body["code"]] += 1
    rates = [absent[key] / n for key, n in possible.items() if n > 0]
    total = max(len(rates), 1)
    return Summary(
        enrolments=len(rates),
        marks=marks,
        amendments=amendments,
        admissions=admissions,
        deletions=deletions,
        overall_absence_rate=sum(absent.values()) / max(sum(possible.values()), 1),
        persistent_absence_share=sum(r >= 0.1 for r in rates) / total,
        severe_absence_share=sum(r >= 0.5 for r in rates) / total,
        above_95_share=sum(r < 0.05 for r in rates) / total,
        codes=dict(sorted(codes.items())),
    )
