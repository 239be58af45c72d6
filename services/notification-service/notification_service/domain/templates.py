"""Message templates: the built-in wording, a school's own wording, and the placeholders each
may use. Pure: no I/O."""

import string
from dataclasses import dataclass
from enum import StrEnum


class TemplateKey(StrEnum):
    FIRST_DAY_ABSENCE = "first_day_absence"
    ABSENCE_CHASE = "absence_chase"
    LEAD_UNRESOLVED_ABSENCE = "lead_unresolved_absence"
    WORKER_ABSENCE_NOTICE = "worker_absence_notice"
    LEAD_RISK_FLAG = "lead_risk_flag"
    EARLY_SUPPORT = "early_support"
    LEAVE_DECISION = "leave_decision"
    MISSING_REGISTER = "missing_register"


@dataclass(frozen=True, slots=True)
class Template:
    subject: str
    body: str


_SCHOOL = {"school_name", "forename", "date"}
PLACEHOLDERS: dict[TemplateKey, frozenset[str]] = {
    TemplateKey.FIRST_DAY_ABSENCE: frozenset(_SCHOOL | {"contact_name", "session"}),
    TemplateKey.ABSENCE_CHASE: frozenset(_SCHOOL | {"contact_name", "school_days"}),
    TemplateKey.LEAD_UNRESOLVED_ABSENCE: frozenset(_SCHOOL | {"lead_name", "upn", "school_days"}),
    TemplateKey.WORKER_ABSENCE_NOTICE: frozenset(_SCHOOL | {"worker_name", "upn", "session", "code", "code_meaning"}),
    TemplateKey.LEAD_RISK_FLAG: frozenset(_SCHOOL | {"lead_name", "upn", "flag", "evidence"}),
    TemplateKey.EARLY_SUPPORT: frozenset(_SCHOOL | {"contact_name", "attendance_rate"}),
    TemplateKey.MISSING_REGISTER: frozenset(
        {"school_name", "date", "lead_name", "session", "closes_at", "register", "registration_group"}
    ),
    TemplateKey.LEAVE_DECISION: frozenset(
        _SCHOOL | {"contact_name", "outcome", "leave_reason", "first_day", "last_day", "sessions", "decision_reason"}
    ),
}

DEFAULT_TEMPLATES: dict[TemplateKey, Template] = {
    TemplateKey.FIRST_DAY_ABSENCE: Template(
        "{forename} is absent from school today",
        "Dear {contact_name}, {forename} was not in school at {session} registration on {date} and we have "
        "not been told why. Please reply to this message or call {school_name} today to give the reason.",
    ),
    TemplateKey.ABSENCE_CHASE: Template(
        "Reminder: please tell us why {forename} was absent",
        "Dear {contact_name}, we still do not know why {forename} was absent on {date}, {school_days} school "
        "days ago. Please reply to this message or call {school_name} to give the reason.",
    ),
    TemplateKey.LEAD_UNRESOLVED_ABSENCE: Template(
        "Unexplained absence to resolve: {forename} ({upn})",
        "Dear {lead_name}, {forename} ({upn}) has had an N (reason not yet established) on the register for "
        "{date} for {school_days} school days. The mark must now be resolved: replace it with the correct "
        "code, or with O if no reason can be established.",
    ),
    TemplateKey.WORKER_ABSENCE_NOTICE: Template(
        "Absence notice: {forename} ({upn}) at {school_name}",
        "Dear {worker_name}, {forename} ({upn}) was absent from {school_name} at {session} registration on "
        "{date}: code {code}, {code_meaning}.",
    ),
    TemplateKey.LEAD_RISK_FLAG: Template(
        "Attendance flag: {forename} ({upn}), {flag}",
        "Dear {lead_name}, {forename} ({upn}) has been flagged for {flag} as of {date}. {evidence}",
    ),
    TemplateKey.EARLY_SUPPORT: Template(
        "{forename}'s attendance",
        "Dear {contact_name}, {forename}'s attendance this school year is {attendance_rate}%. Every day in "
        "school counts, and we would like to talk with you about any barriers and how we can help. Please "
        "contact the attendance lead at {school_name}.",
    ),
    TemplateKey.MISSING_REGISTER: Template(
        "Register not taken: {date}, {register}",
        "Dear {lead_name}, a register of {school_name} has not been taken: {date}, {register}. It closed at "
        "{closes_at}. Every pupil must be marked: please make sure it is taken now.",
    ),
    TemplateKey.LEAVE_DECISION: Template(
        "Leave of absence for {forename}: {outcome}",
        "Dear {contact_name}, the request for {forename} to be absent from school from {first_day} to "
        "{last_day} for {leave_reason} has been {outcome} by {school_name}. {sessions} {decision_reason}",
    ),
}


def template_errors(key: TemplateKey, field: str, text: str) -> list[str]:
    """Why `text` cannot be a template for `key`: unknown placeholders, and anything beyond a
    plain `{name}` (attribute access or format specs would let a template read internals)."""
    allowed = PLACEHOLDERS[key]
    try:
        parts = list(string.Formatter().parse(text))
    except ValueError as exc:
        return [f"{field}: {exc} (write a literal brace as {{{{ or }}}})"]
    errors = []
    for _, name, spec, conversion in parts:
        if name is None:
            continue
        if name not in allowed or spec or conversion:
            errors.append(
                f"{field}: {{{name}}} is not a placeholder of {key.value} (allowed: {', '.join(sorted(allowed))})"
            )
    return errors


def render(template: Template, values: dict[str, object]) -> Template:
    """Fill a checked template; a placeholder the caller has no value for renders empty."""

    class _Values(dict):
        def __missing__(self, _: str) -> str:
            return ""

    filled = _Values({k: "" if v is None else v for k, v in values.items()})
    return Template(template.subject.format_map(filled), template.body.format_map(filled))
