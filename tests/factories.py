"""Test data factories: valid identifiers and request bodies, varied by a counter."""

import itertools
from typing import Any

from stdnum.gb import upn as stdnum_upn

_serials = itertools.count(1)
# Who made an amendment, as the register must keep it.
MADE_BY = {"name": "Jo Patel", "position": "attendance officer"}


def make_upn(la_code: str = "201", establishment: str = "1234", year: str = "24", serial: int | None = None) -> str:
    """A permanent UPN with the right check letter (DfE algorithm, via python-stdnum)."""
    body = f"{la_code}{establishment}{year}{(serial if serial is not None else next(_serials)) % 1000:03d}"
    return stdnum_upn.calc_check_digit("X" + body) + body


def school_body(la_code: str = "201", name: str = "Oak Lane Primary") -> dict[str, Any]:
    return {"la_code": la_code, "name": name, "establishment_number": "1234"}


def pupil_body(upn: str, *, forename: str = "Sam", contacts: list[dict] | None = None, **overrides: Any) -> dict:
    return {
        "upn": upn,
        "legal_surname": "Taylor",
        "legal_forename": forename,
        "date_of_birth": "2016-03-04",
        "sex": "F",
        "year_group": "5",
        "admission_date": "2025-09-01",
        "address": {"lines": ["12 Orchard Road"], "town": "Leeds", "postcode": "LS6 2AB"},
        "contacts": contacts if contacts is not None else [{"name": "Alex Taylor", "email": "alex@example.org"}],
        **overrides,
    }


def calendar_body() -> dict[str, Any]:
    """2026/27: three terms with half-terms, two INSET days and a bank-holiday closure."""
    y = 2026
    return {
        "academic_year": y,
        "terms": [
            {
                "name": "autumn",
                "start": f"{y}-09-03",
                "end": f"{y}-12-18",
                "half_term_start": f"{y}-10-26",
                "half_term_end": f"{y}-10-30",
            },
            {
                "name": "spring",
                "start": f"{y + 1}-01-05",
                "end": f"{y + 1}-03-26",
                "half_term_start": f"{y + 1}-02-15",
                "half_term_end": f"{y + 1}-02-19",
            },
            {
                "name": "summer",
                "start": f"{y + 1}-04-12",
                "end": f"{y + 1}-07-21",
                "half_term_start": f"{y + 1}-05-31",
                "half_term_end": f"{y + 1}-06-04",
            },
        ],
        "closures": [
            {"day": f"{y}-09-03", "kind": "inset", "reason": "training"},
            {"day": f"{y}-11-20", "kind": "inset", "reason": "training"},
            {"day": f"{y + 1}-05-03", "kind": "planned_closure", "reason": "bank holiday"},
        ],
    }
