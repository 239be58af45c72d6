"""The cohort fields the DfE's daily attendance collection carries beyond the admission
register, and the population its statistics count. Pure: no I/O.

Ethnicity uses the DfE's main codes (Common Basic Data Set), with the major group each belongs
to: figures may be split by either. DfE attendance statistics cover pupils of compulsory school
age, 5 to 15 on 31 August before the academic year, boarders excluded; a school's own view
usually counts everyone on roll. Both are offered and every answer says which it used.
"""

from dataclasses import dataclass
from datetime import date
from typing import Literal

EthnicityCode = Literal[
    "WBRI", "WIRI", "WIRT", "WOTH", "WROM",
    "MWBC", "MWBA", "MWAS", "MOTH",
    "AIND", "APKN", "ABAN", "AOTH",
    "BCRB", "BAFR", "BOTH",
    "CHNE", "OOTH",
    "REFU", "NOBT",
]  # fmt: skip
Population = Literal["on_roll", "compulsory_school_age"]


@dataclass(frozen=True, slots=True)
class Ethnicity:
    code: str
    meaning: str
    group: str


ETHNICITIES: dict[str, Ethnicity] = {
    e.code: e
    for e in (
        Ethnicity("WBRI", "White - British", "White"),
        Ethnicity("WIRI", "White - Irish", "White"),
        Ethnicity("WIRT", "Traveller of Irish heritage", "White"),
        Ethnicity("WOTH", "Any other White background", "White"),
        Ethnicity("WROM", "Gypsy / Roma", "White"),
        Ethnicity("MWBC", "White and Black Caribbean", "Mixed"),
        Ethnicity("MWBA", "White and Black African", "Mixed"),
        Ethnicity("MWAS", "White and Asian", "Mixed"),
        Ethnicity("MOTH", "Any other mixed background", "Mixed"),
        Ethnicity("AIND", "Indian", "Asian"),
        Ethnicity("APKN", "Pakistani", "Asian"),
        Ethnicity("ABAN", "Bangladeshi", "Asian"),
        Ethnicity("AOTH", "Any other Asian background", "Asian"),
        Ethnicity("BCRB", "Black Caribbean", "Black"),
        Ethnicity("BAFR", "Black - African", "Black"),
        Ethnicity("BOTH", "Any other Black background", "Black"),
        Ethnicity("CHNE", "Chinese", "Chinese"),
        Ethnicity("OOTH", "Any other ethnic group", "Any other ethnic group"),
        Ethnicity("REFU", "Refused", "Unclassified"),
        Ethnicity("NOBT", "Information not yet obtained", "Unclassified"),
    )
}

# Compulsory school age as DfE statistics count it: aged 5 to 15 at the start of the year.
COMPULSORY_AGES = range(5, 16)


def age_on(date_of_birth: date, day: date) -> int:
    return day.year - date_of_birth.year - ((day.month, day.day) < (date_of_birth.month, date_of_birth.day))


def of_compulsory_school_age(date_of_birth: date | None, academic_year: int) -> bool:
    """Aged 5 to 15 on 31 August before `academic_year` begins. Unknown birth date: not counted."""
    return date_of_birth is not None and age_on(date_of_birth, date(academic_year, 8, 31)) in COMPULSORY_AGES


def in_population(population: Population, date_of_birth: date | None, boarder: bool, academic_year: int) -> bool:
    if population == "on_roll":
        return True
    return not boarder and of_compulsory_school_age(date_of_birth, academic_year)
