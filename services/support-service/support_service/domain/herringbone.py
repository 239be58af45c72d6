"""The registration certificate an LA asks for, as a "herringbone": each school week a row,
each weekday's morning and afternoon mark side by side, every code's meaning beside the grid,
and every amendment listed. Pure: built from the register's entries as it gives them."""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from attendance_shared.rules.codes import ATTENDANCE_CODES, UNAUTHORISED_ABSENCE_CODES, category_of

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri")


@dataclass(frozen=True, slots=True)
class Amendment:
    day: date
    session: str
    previous_code: str | None
    code: str
    reason: str | None
    made_by: str | None
    recorded_at: str


@dataclass(slots=True)
class Certificate:
    start: date
    end: date
    # Monday of each week -> (weekday index, session) -> code
    weeks: dict[date, dict[tuple[int, str], str]] = field(default_factory=dict)
    amendments: list[Amendment] = field(default_factory=list)

    def codes(self) -> list[str]:
        return [code for week in self.weeks.values() for code in week.values()]

    def legend(self) -> dict[str, str]:
        used = sorted(set(self.codes()))
        return {c: ATTENDANCE_CODES[c].meaning for c in used if c in ATTENDANCE_CODES}

    def rows(self) -> list[dict[str, Any]]:
        """Each week: its Monday, and each weekday's "am pm" codes ("" where unmarked)."""
        out = []
        for monday in sorted(self.weeks):
            week = self.weeks[monday]
            out.append(
                {
                    "week_of": monday,
                    "days": {
                        WEEKDAYS[d]: {"am": week.get((d, "am"), ""), "pm": week.get((d, "pm"), "")} for d in range(5)
                    },
                }
            )
        return out

    def unauthorised_in_last_possible(self, count: int = 100) -> tuple[int, int]:
        """(unauthorised sessions, possible sessions) among the last `count` possible sessions:
        what LAs ask for beside a penalty-notice request."""
        ordered = sorted(
            (monday + timedelta(days=d), 0 if s == "am" else 1, code)
            for monday, week in self.weeks.items()
            for (d, s), code in week.items()
        )
        possible = [code for _, _, code in ordered if category_of(code).is_possible_session][-count:]
        return sum(code in UNAUTHORISED_ABSENCE_CODES for code in possible), len(possible)


def certificate(entries: Iterable[Mapping[str, Any]], start: date, end: date) -> Certificate:
    """The register as it stands for each session (its highest revision), and each amendment."""
    latest: dict[tuple[date, str], Mapping[str, Any]] = {}
    result = Certificate(start, end)
    for entry in entries:
        day = entry["date"] if isinstance(entry["date"], date) else date.fromisoformat(entry["date"])
        key = (day, entry["session"])
        if key not in latest or latest[key]["revision"] < entry["revision"]:
            latest[key] = entry
        if entry["revision"] > 1:
            result.amendments.append(
                Amendment(
                    day=day,
                    session=entry["session"],
                    previous_code=entry.get("previous_code"),
                    code=entry["code"],
                    reason=entry.get("reason"),
                    made_by=entry.get("made_by_name") or entry.get("recorded_by"),
                    recorded_at=str(entry.get("recorded_at", "")),
                )
            )
    for (day, session), entry in latest.items():
        if day.weekday() < 5 and start <= day <= end:
            monday = day - timedelta(days=day.weekday())
            result.weeks.setdefault(monday, {})[(day.weekday(), session)] = entry["code"]
    result.amendments.sort(key=lambda a: (a.day, a.session, a.recorded_at))
    return result
