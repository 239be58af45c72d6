"""Message templates: the built-in wording, a school's own wording, and the placeholders each
may use. Pure: no I/O."""

import string
from dataclasses import dataclass
from enum import StrEnum

from attendance_shared.rules.languages import ENGLISH


class TemplateKey(StrEnum):
    FIRST_DAY_ABSENCE = "first_day_absence"
    ABSENCE_CHASE = "absence_chase"
    LEAD_UNRESOLVED_ABSENCE = "lead_unresolved_absence"
    WORKER_ABSENCE_NOTICE = "worker_absence_notice"
    LEAD_RISK_FLAG = "lead_risk_flag"
    EARLY_SUPPORT = "early_support"
    LEAVE_DECISION = "leave_decision"
    MISSING_REGISTER = "missing_register"
    # Regular summaries, one wording per tone (`attendance_shared.rules.parent_summary.Tone`).
    SUMMARY_PRAISE = "summary_praise"
    SUMMARY_ENCOURAGING = "summary_encouraging"
    SUMMARY_CONCERN = "summary_concern"
    SUMMARY_SUPPORTIVE = "summary_supportive"
    SUMMARY_NO_ABSENCE_PRESSURE = "summary_no_absence_pressure"
    NOTICE_TO_IMPROVE = "notice_to_improve"
    PENALTY_NOTICE = "penalty_notice"
    MEETING_INVITATION = "meeting_invitation"


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
    TemplateKey.NOTICE_TO_IMPROVE: frozenset(
        _SCHOOL | {"contact_name", "period_start", "period_end", "improvement", "named_contact"}
    ),
    TemplateKey.PENALTY_NOTICE: frozenset(_SCHOOL | {"contact_name", "sessions", "amount", "named_contact"}),
    TemplateKey.MEETING_INVITATION: frozenset(_SCHOOL | {"contact_name", "time", "place", "purpose", "named_contact"}),
}
# A summary's words come from the shared rules in English; a version in another language can
# use the numbers instead (days_missed_term, days_missed_year, attendance_percent).
SUMMARY_PLACEHOLDERS = frozenset(
    _SCHOOL
    | {
        "contact_name",
        "period",
        "days_missed",
        "days_missed_term",
        "days_missed_year",
        "attendance_percent",
        "what_it_means",
        "patterns",
        "named_contact",
    }
)
SUMMARY_TEMPLATES = (
    TemplateKey.SUMMARY_PRAISE,
    TemplateKey.SUMMARY_ENCOURAGING,
    TemplateKey.SUMMARY_CONCERN,
    TemplateKey.SUMMARY_SUPPORTIVE,
    TemplateKey.SUMMARY_NO_ABSENCE_PRESSURE,
)
PLACEHOLDERS.update(dict.fromkeys(SUMMARY_TEMPLATES, SUMMARY_PLACEHOLDERS))
_SUMMARY_SUBJECT = "{forename}'s attendance: {period}"
_SUMMARY_OPENING = (
    "Dear {contact_name}, this is {school_name}'s regular update on {forename}'s attendance for {period}. "
)

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
    TemplateKey.SUMMARY_PRAISE: Template(
        _SUMMARY_SUBJECT,
        _SUMMARY_OPENING + "{days_missed}. {forename}'s attendance this school year is {attendance_percent}%: "
        "{what_it_means}. Thank you for everything you do to get {forename} to school; it shows. "
        "{patterns}If you would like to talk about anything, please contact {named_contact}.",
    ),
    TemplateKey.SUMMARY_ENCOURAGING: Template(
        _SUMMARY_SUBJECT,
        _SUMMARY_OPENING + "{days_missed}. {forename}'s attendance this school year is {attendance_percent}%: "
        "{what_it_means}. Every day in school helps {forename} learn and keep up with friends, and a few more "
        "days would make a real difference. {patterns}If anything makes coming to school hard, please talk to "
        "{named_contact}.",
    ),
    TemplateKey.SUMMARY_CONCERN: Template(
        _SUMMARY_SUBJECT,
        _SUMMARY_OPENING + "{days_missed}. {forename}'s attendance this school year is {attendance_percent}%: "
        "{what_it_means}. Missing this much school makes it harder for {forename} to keep up, and we would "
        "like to work with you to help. {patterns}Please contact {named_contact} so that we can talk about "
        "anything that makes coming to school hard and agree how we can help.",
    ),
    TemplateKey.SUMMARY_SUPPORTIVE: Template(
        _SUMMARY_SUBJECT,
        _SUMMARY_OPENING + "{days_missed}. We know {forename} has good reasons to miss some school, and "
        "this update is for your information, not a warning. If there is anything more we could do to help, "
        "please talk to {named_contact}.",
    ),
    TemplateKey.SUMMARY_NO_ABSENCE_PRESSURE: Template(
        _SUMMARY_SUBJECT,
        _SUMMARY_OPENING + "{days_missed}. {forename} is not yet of compulsory school age, so this is for "
        "your information only. If you would like to talk about anything, please contact {named_contact}.",
    ),
    TemplateKey.NOTICE_TO_IMPROVE: Template(
        "Notice to Improve: {forename}'s attendance",
        "Dear {contact_name}, {school_name} has issued a Notice to Improve about {forename}'s attendance, on "
        "{date}. The improvement period runs from {period_start} to {period_end}. Sufficient improvement "
        "means: {improvement}. We will keep supporting you and {forename} during this time. If attendance does "
        "not improve enough, the local authority may consider a penalty notice or other legal action. Please "
        "contact {named_contact} if there is anything that makes coming to school hard.",
    ),
    TemplateKey.MEETING_INVITATION: Template(
        "Invitation: a meeting about {forename}'s attendance",
        "Dear {contact_name}, we would like to invite you to a meeting about {forename}'s attendance on "
        "{date} at {time}, at {place}. It is for: {purpose}. We want to understand anything that makes "
        "coming to school hard and agree together how we can help. If the time does not suit you, or you "
        "would like someone to come with you, please contact {named_contact}.",
    ),
    TemplateKey.PENALTY_NOTICE: Template(
        "Penalty notice: {forename}'s absence from school",
        "Dear {contact_name}, a penalty notice has been issued to you on {date} for {forename}'s unauthorised "
        "absence from {school_name} ({sessions}). The amount is {amount}. The notice itself "
        "says how to pay and by when. Please contact {named_contact} with any questions.",
    ),
}


def choose_template(
    own: dict[tuple[TemplateKey, str], Template], key: TemplateKey, language: str | None
) -> tuple[Template, str]:
    """The school's version in the contact's language, else its English one, else the built-in
    English wording; with the language chosen."""
    if language and (key, language) in own:
        return own[(key, language)], language
    return own.get((key, ENGLISH), DEFAULT_TEMPLATES[key]), ENGLISH


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


# What a version must say, whatever its language: a parent must be told which child it is
# about, and a summary how many days were missed (in words or as numbers).
_DAYS_MISSED = ("days_missed", "days_missed_term", "days_missed_year")
_PARENT_TEMPLATES = (
    TemplateKey.FIRST_DAY_ABSENCE,
    TemplateKey.ABSENCE_CHASE,
    TemplateKey.EARLY_SUPPORT,
    TemplateKey.LEAVE_DECISION,
    TemplateKey.NOTICE_TO_IMPROVE,
    TemplateKey.PENALTY_NOTICE,
    TemplateKey.MEETING_INVITATION,
    *SUMMARY_TEMPLATES,
)


def missing_placeholders(key: TemplateKey, body: str) -> list[str]:
    """Why a version's body says too little: each required placeholder it lacks."""
    try:
        used = {name for _, name, _, _ in string.Formatter().parse(body) if name}
    except ValueError:
        return []  # template_errors reports the broken brace
    problems = []
    if key in _PARENT_TEMPLATES and "forename" not in used:
        problems.append("body: lacks {forename}: a parent must be told which child the message is about")
    if key in SUMMARY_TEMPLATES and not used.intersection(_DAYS_MISSED):
        problems.append("body: lacks the days missed: use {days_missed}, {days_missed_term} or {days_missed_year}")
    return problems


def render(template: Template, values: dict[str, object]) -> Template:
    """Fill a checked template; a placeholder the caller has no value for renders empty."""

    class _Values(dict):
        def __missing__(self, _: str) -> str:
            return ""

    filled = _Values({k: "" if v is None else v for k, v in values.items()})
    return Template(template.subject.format_map(filled), template.body.format_map(filled))
