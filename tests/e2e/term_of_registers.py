"""A seeded autumn term of two schools' registers, and its figures recomputed plainly.

The generator decides every pupil's story (regular, often absent, severely absent, a long
illness, a run of unexplained absence, admitted or deleted mid-term, a cohort change) and
records the final code of every session it sends. The oracle below recomputes each figure
and flag from those codes with loops over dates and code sets written out here, sharing no
code with analytics, so a mistake in either shows up as a difference.
"""

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta

from tests.factories import make_upn

YEAR = 2025
TERM_START, TERM_END = date(2025, 9, 3), date(2025, 12, 19)
HALF_TERM = (date(2025, 10, 27), date(2025, 10, 31))
INSET_DAY = date(2025, 9, 3)
CLOSED_AFTERNOON = date(2025, 11, 14)  # a planned partial closure: the afternoon is '#'
MIN_POSSIBLE = 20  # the service's documented minimum before rate-based flags

PRESENT_CODES = {"/", "\\", "L"}
AEA_CODES = {"K", "V", "P", "W", "B"}
AUTHORISED_CODES = {"C1", "M", "J1", "S", "C2", "C", "E", "I", "R", "T"}
UNAUTHORISED_CODES = {"G", "N", "O", "U"}
NOT_POSSIBLE_CODES = {"D", "X", "Q", "Y1", "Y2", "Y3", "Y4", "Y5", "Y6", "Y7", "Z", "#"}
NEEDS_NOTE = {"B", "K", "Y1", "Y2", "Y3", "Y4", "Y5", "Y6", "Y7", "#"}
OCCASIONAL = sorted((AEA_CODES | AUTHORISED_CODES | UNAUTHORISED_CODES | NOT_POSSIBLE_CODES) - {"#", "Z", "U"})


def calendar_body() -> dict:
    return {
        "academic_year": YEAR,
        "terms": [
            {
                "name": "Autumn",
                "start": str(TERM_START),
                "end": str(TERM_END),
                "half_term_start": str(HALF_TERM[0]),
                "half_term_end": str(HALF_TERM[1]),
            },
            {
                "name": "Spring",
                "start": "2026-01-05",
                "end": "2026-03-27",
                "half_term_start": "2026-02-16",
                "half_term_end": "2026-02-20",
            },
            {
                "name": "Summer",
                "start": "2026-04-13",
                "end": "2026-07-17",
                "half_term_start": "2026-05-25",
                "half_term_end": "2026-05-29",
            },
        ],
        "closures": [
            {"day": str(INSET_DAY), "kind": "inset", "reason": "training"},
            {"day": str(CLOSED_AFTERNOON), "kind": "planned_closure", "session": "pm", "reason": "polling station"},
        ],
    }


def school_days(with_calendar: bool) -> list[date]:
    days, day = [], TERM_START
    while day <= TERM_END:
        in_half_term = HALF_TERM[0] <= day <= HALF_TERM[1]
        if day.weekday() < 5 and not (with_calendar and (in_half_term or day == INSET_DAY)):
            days.append(day)
        day += timedelta(days=1)
    return days


def open_sessions(day: date, with_calendar: bool) -> list[str]:
    return ["am"] if with_calendar and day == CLOSED_AFTERNOON else ["am", "pm"]


@dataclass
class Pupil:
    upn: str
    story: str
    admitted: date
    left: date | None = None
    year_group: str = "5"
    sex: str = "F"
    fsm: bool = False
    fsm_from: date | None = None  # becomes eligible on this date
    ethnicity: str | None = None
    # Aged 4 on 31 August 2025 for a reception pupil (below compulsory school age), else 7 to 10.
    date_of_birth: date = date(2016, 1, 15)
    boarder: bool = False
    codes: dict[tuple[date, str], str] = field(default_factory=dict)

    def on_roll(self, day: date) -> bool:
        return self.admitted <= day and (self.left is None or day <= self.left)


@dataclass
class School:
    urn: str
    la_code: str
    with_calendar: bool
    pupils: list[Pupil]
    amendments: list[tuple[date, str, str, str]] = field(default_factory=list)  # day, session, upn, code

    @property
    def days(self) -> list[date]:
        return school_days(self.with_calendar)


def _story_code(pupil: Pupil, index: int, session: str, rng: random.Random) -> str:
    present = "/" if session == "am" else "\\"
    story = pupil.story
    if story == "long_illness" and 20 <= index < 37:
        return "I"
    # Runs that last to the end of the term, so they are current when the term's data ends.
    if story == "truant_10" and index >= 60:
        return rng.choice("NNGO")
    if story == "truant_20" and index >= 48:
        return rng.choice("NNOG")
    if story == "severe":
        return rng.choice(["N", "O", "G", "I", present, present])
    if story == "unexplained" and index % 9 == 4:
        return "N"
    if story == "slipping" and index >= 40:
        return rng.choice([present, present, present, "N", "I", "O"])
    rate = {"persistent": 0.14, "regular": 0.03}.get(story, 0.05)
    roll = rng.random()
    if roll < rate:
        return rng.choice(["I", "N", "M", "O", "G", "C", "U"])
    if roll < rate + 0.02:
        return rng.choice(OCCASIONAL)
    if roll < rate + 0.05:
        return "L"
    return present


STORIES = (
    ["regular"] * 40
    + ["persistent"] * 12
    + ["severe"] * 4
    + ["long_illness"] * 3
    + ["truant_10"] * 2
    + ["truant_20"] * 2
    + ["unexplained"] * 3
    + ["slipping"] * 4
)


def generate(seed: int, pupils_per_school: int = 140) -> list[School]:
    rng = random.Random(seed)
    schools = []
    for index, (urn, la_code, with_calendar) in enumerate([("140001", "381", True), ("140002", "381", False)]):
        days = school_days(with_calendar)
        pupils = []
        for serial in range(pupils_per_school):
            upn = make_upn(la_code="381", establishment=f"{4000 + index}", serial=serial)
            pupil = Pupil(
                upn=upn,
                story=rng.choice(STORIES),
                admitted=date(2025, 9, 1),
                year_group=str(rng.randint(3, 6)),
                sex=rng.choice("FM"),
                fsm=rng.random() < 0.2,
            )
            if serial % 25 == 7:
                pupil.admitted = days[rng.randint(10, 40)]  # joins mid-term
            elif serial % 25 == 13:
                pupil.left = days[rng.randint(25, 60)]  # deleted mid-term
            if not pupil.fsm and serial % 11 == 3:
                pupil.fsm_from = days[rng.randint(15, 50)]  # becomes eligible mid-term
            # Cohorts of the DfE's collection, set from the serial so the random stream is unchanged.
            pupil.ethnicity = ETHNICITIES_SEEN[serial % len(ETHNICITIES_SEEN)]
            if serial % 9 == 4:
                pupil.year_group = "R"
            pupil.date_of_birth = date(2021 if pupil.year_group == "R" else 2020 - int(pupil.year_group), 1, 15)
            pupil.boarder = serial % 23 == 5  # not in the DfE's statistics population
            pupils.append(pupil)
        school = School(urn, la_code, with_calendar, pupils)
        for day_index, day in enumerate(days):
            for session in open_sessions(day, with_calendar):
                for pupil in pupils:
                    if pupil.on_roll(day):
                        pupil.codes[(day, session)] = _story_code(pupil, day_index, session, rng)
            if with_calendar and day == CLOSED_AFTERNOON:
                for pupil in pupils:
                    if pupil.on_roll(day):
                        pupil.codes[(day, "pm")] = "#"
        # Amendments: many first-day N marks are explained later, some twice.
        for pupil in pupils:
            if pupil.story.startswith("truant"):
                continue  # nobody ever explains these
            for (day, session), code in sorted(pupil.codes.items()):
                if code == "N" and rng.random() < 0.12:
                    for new_code in rng.choice([["I"], ["O"], ["M"], ["O", "I"], ["G"]]):
                        school.amendments.append((day, session, pupil.upn, new_code))
        schools.append(school)
    return schools


def final_codes(school: School, pupil: Pupil) -> dict[tuple[date, str], str]:
    codes = dict(pupil.codes)
    for day, session, upn, code in school.amendments:
        if upn == pupil.upn:
            codes[(day, session)] = code
    return codes


# --- the oracle: every figure and flag, recomputed plainly ---------------------------------


@dataclass
class Counts:
    present: int = 0
    aea: int = 0
    authorised: int = 0
    unauthorised: int = 0

    @property
    def possible(self) -> int:
        return self.present + self.aea + self.authorised + self.unauthorised

    @property
    def absent(self) -> int:
        return self.authorised + self.unauthorised

    def add(self, code: str) -> None:
        if code in PRESENT_CODES:
            self.present += 1
        elif code in AEA_CODES:
            self.aea += 1
        elif code in AUTHORISED_CODES:
            self.authorised += 1
        elif code in UNAUTHORISED_CODES:
            self.unauthorised += 1

    def as_api(self) -> dict:
        def rate(n: int) -> float | None:
            return round(100 * n / self.possible, 2) if self.possible else None

        return {
            "possible_sessions": self.possible,
            "attended_sessions": self.present + self.aea,
            "present_sessions": self.present,
            "approved_educational_activity_sessions": self.aea,
            "authorised_absence_sessions": self.authorised,
            "unauthorised_absence_sessions": self.unauthorised,
            "attendance_rate": rate(self.present + self.aea),
            "overall_absence_rate": rate(self.absent),
            "persistent_absence": self.possible > 0 and self.absent * 10 >= self.possible,
            "severe_absence": self.possible > 0 and self.absent * 2 >= self.possible,
        }


def counts_between(codes: dict[tuple[date, str], str], start: date, end: date) -> Counts:
    counts = Counts()
    for (day, _), code in codes.items():
        if start <= day <= end:
            counts.add(code)
    return counts


def monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def expected_flags(school: School, pupil: Pupil) -> set[str]:
    codes = final_codes(school, pupil)
    if not codes:
        return set()
    days = school.days
    latest = max(day for day, _ in codes)
    whole = counts_between(codes, date(YEAR, 8, 1), latest)
    flags = set()
    enough = whole.possible >= MIN_POSSIBLE
    persistent = enough and whole.absent * 100 >= 10 * whole.possible
    if persistent:
        flags.add("persistent_absence")
    if enough and whole.absent * 100 >= 50 * whole.possible:
        flags.add("severe_absence")
    school_weeks = sorted({monday(d) for d in days})
    position = max(i for i, week in enumerate(school_weeks) if week <= monday(latest))
    if enough and not persistent and whole.absent * 100 >= 5 * whole.possible and position >= 7:
        recent = counts_between(codes, school_weeks[position - 3], latest)
        earlier = counts_between(codes, school_weeks[position - 7], school_weeks[position - 3] - timedelta(days=1))
        recent_rate = (recent.present + recent.aea) / recent.possible if recent.possible else None
        earlier_rate = (earlier.present + earlier.aea) / earlier.possible if earlier.possible else None
        if recent_rate is not None and earlier_rate is not None and recent_rate < earlier_rate:
            flags.add("at_risk_of_persistent_absence")
    window_start = school_weeks[max(position - 9, 0)]
    if sum(1 for (d, _), c in codes.items() if window_start <= d <= latest and c in UNAUTHORISED_CODES) >= 10:
        flags.add("penalty_notice_threshold")
    if sum(1 for c in codes.values() if c == "I") >= 30:
        flags.add("long_sickness")
    for (day, _), code in codes.items():
        if code == "N" and sum(1 for d in days if day <= d < latest) >= 5:
            flags.add("unexplained_absence_overdue")
    run = 0
    for day in sorted({d for d, _ in codes}):
        day_codes = [codes[(day, s)] for s in ("am", "pm") if (day, s) in codes]
        possible = [c for c in day_codes if c not in NOT_POSSIBLE_CODES]
        if not possible:
            continue
        run = run + 1 if all(c in UNAUTHORISED_CODES for c in possible) else 0
    if run >= 10:
        flags.add("continuous_absence_10_days")
    if run >= 20:
        flags.add("continuous_absence_20_days")
    return flags


ETHNICITIES_SEEN = ("WBRI", "APKN", "BAFR", "MWBC", None)
ETHNIC_GROUP = {"WBRI": "White", "APKN": "Asian", "BAFR": "Black", "MWBC": "Mixed", None: "unknown"}


def age_on_31_august_2025(pupil: Pupil) -> int:
    born = pupil.date_of_birth
    return 2025 - born.year - ((born.month, born.day) > (8, 31))


def fsm_on(pupil: Pupil, day: date) -> bool:
    return pupil.fsm or (pupil.fsm_from is not None and day >= pupil.fsm_from)


def expected_cohorts(
    school: School,
    start: date,
    end: date,
    label_of: Callable[[Pupil, date], str] = lambda p, day: "yes" if fsm_on(p, day) else "no",
    *,
    compulsory_school_age: bool = False,
) -> dict[str, dict]:
    """By FSM eligibility as it was on each date (or another label): sessions, pupils, PA and
    SA per group; over the DfE's statistics population if asked (aged 5 to 15 on 31 August
    2025, boarders excluded)."""
    groups: dict[str, dict] = {}
    for pupil in school.pupils:
        if compulsory_school_age and (pupil.boarder or not 5 <= age_on_31_august_2025(pupil) <= 15):
            continue
        parts: dict[str, Counts] = {}
        for (day, _), code in final_codes(school, pupil).items():
            if start <= day <= end:
                parts.setdefault(label_of(pupil, day), Counts()).add(code)
        for label, counts in parts.items():
            if not counts.possible:
                continue
            group = groups.setdefault(label, {"pupils": 0, "possible": 0, "absent": 0, "persistent": 0, "severe": 0})
            group["pupils"] += 1
            group["possible"] += counts.possible
            group["absent"] += counts.absent
            group["persistent"] += counts.absent * 10 >= counts.possible
            group["severe"] += counts.absent * 2 >= counts.possible
    return groups


def expected_weeks(school: School, start: date, end: date) -> list[tuple[str, int, int]]:
    """(Monday, possible, attended) per school week between the dates."""
    weeks: dict[date, Counts] = {}
    for pupil in school.pupils:
        for (day, _), code in final_codes(school, pupil).items():
            if start <= day <= end:
                weeks.setdefault(monday(day), Counts()).add(code)
    return [(str(w), c.possible, c.present + c.aea) for w, c in sorted(weeks.items())]


def expected_weekday_absence(school: School) -> dict[tuple[str, str], tuple[int, int]]:
    names = ("monday", "tuesday", "wednesday", "thursday", "friday")
    found: dict[tuple[str, str], Counts] = {}
    for pupil in school.pupils:
        for (day, session), code in final_codes(school, pupil).items():
            found.setdefault((names[day.weekday()], session), Counts()).add(code)
    return {k: (c.possible, c.absent) for k, c in found.items() if c.possible}
