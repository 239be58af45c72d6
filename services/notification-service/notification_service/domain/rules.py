"""Which messages the register and the risk flags call for, to whom, and their text. Pure: no I/O.

Every message carries an idempotency key made of its rule, the pupil, the date (and session
or stage where the rule has one) and the recipient: planning the same thing twice (a
redelivered event, a planner run after a restart) can only ever find the stored one.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any

from attendance_shared.clock import SCHOOL_TIME_ZONE
from attendance_shared.events import (
    AttendanceMeetingArrangedV1,
    FlagEvidence,
    LeaveDecidedV1,
    NoticeToImproveIssuedV1,
    PenaltyNoticeIssuedV1,
    RegisterMissingV1,
    RiskFlagRaisedV1,
)
from attendance_shared.rules.codes import ATTENDANCE_CODES
from attendance_shared.rules.enforcement import ImprovementCriterion
from attendance_shared.rules.leave import LEAVE_GROUNDS
from attendance_shared.rules.letters import MEETING_INVITATION, NOTICE_TO_IMPROVE_LETTER, PENALTY_NOTICE_LETTER
from attendance_shared.rules.parent_summary import (
    Circumstances,
    SummaryPeriod,
    Tone,
    choose_tone,
    days_missed_sentence,
    lateness_pattern,
    weekday_pattern,
    what_it_means,
)
from attendance_shared.rules.tiers import Tier, tier_of
from notification_service.domain.policy import SchoolNotificationSettings, register_closes_at
from notification_service.domain.templates import Template, TemplateKey, choose_template, render

FIRST_DAY = "first-day-absence"
CHASE = "absence-chase"
LEAD_UNRESOLVED = "unresolved-absence-lead"
WORKER_NOTICE = "worker-absence-notice"
LEAD_FLAG = "risk-flag-lead"
EARLY_SUPPORT = "persistent-absence-early-support"
LEAVE_DECISION = "leave-decision"
MISSING_REGISTER = "missing-register-lead"
# Rules about an N that an explanation makes moot; a worker notice stands while the
# session stays unauthorised (N to O, say) and goes only when it is explained.
UNEXPLAINED_RULES = (FIRST_DAY, CHASE, LEAD_UNRESOLVED)
CHANNELS_IN_ORDER = ("email", "sms")
WORKER_ROLES = (
    ("social_worker", "social worker"),
    ("youth_offending_worker", "youth offending team worker"),
    ("virtual_school_contact", "Virtual School"),
)
FLAG_WORDING = {
    "persistent_absence": "persistent absence (10% or more of possible sessions missed)",
    "severe_absence": "severe absence (50% or more of possible sessions missed)",
    "at_risk_of_persistent_absence": "being at risk of persistent absence",
    "penalty_notice_threshold": "the penalty notice threshold (10 unauthorised sessions in 10 school weeks)",
    "long_sickness": "long sickness (a sickness return may be due)",
    "unexplained_absence_overdue": "an unexplained absence past the school's limit",
    "continuous_absence_10_days": "10 continuous school days of unauthorised absence",
    "continuous_absence_20_days": "20 continuous school days of absence (deletion ground 9(1)(i))",
    "part_time_review_overdue": "a part-time timetable whose review is overdue",
    "part_time_past_end": "a part-time timetable still running after its end date",
}


@dataclass(frozen=True, slots=True)
class Preference:
    channel: str | None = None
    opted_out: bool = False


@dataclass(frozen=True, slots=True)
class SchoolFacts:
    urn: str
    name: str
    am_register_closes: time = time(9, 0)
    pm_register_closes: time = time(13, 30)
    unexplained_absence_days: int = 5
    settings: SchoolNotificationSettings = field(default_factory=SchoolNotificationSettings)
    # The school's own wording, by template and language.
    templates: dict[tuple[TemplateKey, str], Template] = field(default_factory=dict)

    def template(self, key: TemplateKey) -> Template:
        """In English: staff, leads and workers are written to in English."""
        return choose_template(self.templates, key, None)[0]

    def template_in(self, key: TemplateKey, language: str | None) -> tuple[Template, str]:
        return choose_template(self.templates, key, language)

    @property
    def named_contact(self) -> str:
        """Who a parent should talk to: the summaries' contact, else the attendance lead, with
        how to reach them; else the school office."""
        person = self.settings.summaries.contact or self.settings.attendance_lead
        if person is None:
            return f"the school office at {self.name}"
        ways = [w for w in (person.email, person.phone) if w]
        return person.name + (f" ({', '.join(ways)})" if ways else f" at {self.name}")

    def register_closes(self, day: date, session: str) -> datetime:
        return register_closes_at(day, self.am_register_closes if session == "am" else self.pm_register_closes)

    @property
    def lead_after_school_days(self) -> int:
        return self.settings.lead_after_school_days or self.unexplained_absence_days


@dataclass(frozen=True, slots=True)
class PupilFacts:
    school_urn: str
    upn: str
    forename: str
    contacts: tuple[dict[str, Any], ...] = ()
    preferences: dict[int, Preference] = field(default_factory=dict)
    social_worker: dict[str, Any] | None = None
    youth_offending_worker: dict[str, Any] | None = None
    virtual_school_contact: dict[str, Any] | None = None
    looked_after: bool = False
    left_on: date | None = None
    surname: str | None = None
    date_of_birth: date | None = None
    sen_status: str | None = None
    address: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class PlannedMessage:
    school_urn: str
    upn: str | None  # None: about the school, not a pupil
    about_date: date
    idempotency_key: str
    rule: str
    channel: str
    recipient: str | None
    recipient_role: str
    body: str
    subject: str = ""
    session: str | None = None
    stage: int | None = None
    contact_index: int | None = None
    not_before: datetime | None = None  # None: as soon as stored
    undeliverable_reason: str | None = None
    language: str | None = None
    period: str | None = None
    template: str | None = None  # which wording was chosen (a summary's tone); not stored


def postal_address(contact: dict[str, Any], pupil: PupilFacts) -> str | None:
    """A letter's address block: the contact's own address, else the pupil's home for a
    contact who lives with the pupil; None when neither is known."""
    address = contact.get("address") or (pupil.address if contact.get("lives_with_pupil", True) else None)
    if not address:
        return None
    lines = [contact.get("name") or "The parent or carer", *address["lines"]]
    lines += [address["town"]] if address.get("town") else []
    return "\n".join([*lines, address["postcode"]])


def parent_address(
    contact: dict[str, Any], preference: Preference, push_id: str, postal: str | None = None, *, letters: bool = False
) -> tuple[str, str] | tuple[None, str]:
    """(channel, recipient) for a parent, or (None, why not). The parent's own choice in this
    service wins over the preferred channel on the admission register. With a `postal`
    address (only for letters, never a same-day alert) a parent who chose post, or has no
    e-mail or phone, gets a letter."""
    if preference.opted_out:
        return None, "the contact has opted out of messages"
    usable = {"email": contact.get("email"), "sms": contact.get("phone"), "push": push_id, "post": letters and postal}
    preferred = preference.channel or contact.get("preferred_channel")
    if usable.get(preferred):
        return preferred, usable[preferred]  # type: ignore[return-value]
    for channel in CHANNELS_IN_ORDER:
        if usable[channel]:
            return channel, usable[channel]  # type: ignore[return-value]
    if letters and postal:
        return "post", postal
    if letters:
        return None, "the contact has no email address, phone number or postal address"
    return None, "the contact has no email address or phone number"


def person_address(person: dict[str, Any] | None, who: str) -> tuple[str, str] | tuple[None, str]:
    if not person:
        return None, f"no {who} is set"
    if person.get("email"):
        return "email", person["email"]
    if person.get("phone"):
        return "sms", person["phone"]
    return None, f"the {who} has no email address or phone number"


def _message(
    base: dict[str, Any], key: str, role: str, address: tuple[str, str] | tuple[None, str], text: Template, **extra: Any
) -> PlannedMessage:
    channel, recipient_or_reason = address
    return PlannedMessage(
        **base,
        idempotency_key=key,
        channel=channel or "none",
        recipient=recipient_or_reason if channel else None,
        recipient_role=role,
        subject=text.subject,
        body=text.body,
        undeliverable_reason=None if channel else recipient_or_reason,
        **extra,
    )


def to_parents(
    school: SchoolFacts,
    pupil: PupilFacts,
    *,
    rule: str,
    template: TemplateKey,
    about_date: date,
    key_part: str,
    values: dict[str, object],
    session: str | None = None,
    stage: int | None = None,
    not_before: datetime | None = None,
    letters: bool = False,
    recipients: Callable[[dict[str, Any]], bool] = lambda contact: True,
    period: str | None = None,
) -> list[PlannedMessage]:
    """One message to each parent on the admission register (each `recipients` accepts), in
    the parent's language where the school has that version; a parent who cannot be reached,
    or a pupil with no parent on record, still gets a stored message marked undeliverable
    with the reason, so staff see the gap. With `letters`, one who chose post or has no
    e-mail or phone is written to by post."""
    base = {
        "school_urn": pupil.school_urn,
        "upn": pupil.upn,
        "about_date": about_date,
        "rule": rule,
        "session": session,
        "stage": stage,
        "not_before": not_before,
        "period": period,
    }
    key = f"{rule}:{pupil.school_urn}:{pupil.upn}:{key_part}"
    common = {"school_name": school.name, "forename": pupil.forename, "date": about_date.isoformat(), **values}
    chosen = [(index, contact) for index, contact in enumerate(pupil.contacts) if recipients(contact)]
    if not chosen:
        text = render(school.template(template), {**common, "contact_name": "parent or carer"})
        reason = (None, "no parent or carer contact is on the admission register")
        return [_message(base, f"{key}:parent-none", "parent", reason, text, template=template.value)]
    planned = []
    for index, contact in chosen:
        preference = pupil.preferences.get(index, Preference())
        postal = postal_address(contact, pupil) if letters else None
        address = parent_address(
            contact, preference, f"{pupil.school_urn}:{pupil.upn}:{index}", postal, letters=letters
        )
        wording, language = school.template_in(template, contact.get("language"))
        text = render(wording, {**common, "contact_name": contact.get("name") or "parent or carer"})
        planned.append(
            _message(
                base,
                f"{key}:parent{index}",
                "parent",
                address,
                text,
                contact_index=index,
                language=language,
                template=template.value,
            )
        )
    return planned


def _to_lead(school: SchoolFacts, pupil: PupilFacts, *, rule: str, about_date: date, key_part: str, text: Template):
    lead = school.settings.attendance_lead
    address = person_address(lead.model_dump() if lead else None, "attendance lead for the school")
    base = {"school_urn": pupil.school_urn, "upn": pupil.upn, "about_date": about_date, "rule": rule}
    return _message(base, f"{rule}:{pupil.school_urn}:{pupil.upn}:{key_part}:lead", "attendance_lead", address, text)


def first_day_alerts(school: SchoolFacts, pupil: PupilFacts, day: date, session: str) -> list[PlannedMessage]:
    """An N when the register closes: the parents hear that day, once per pupil per day (so the
    key names the day, not the session). Held until the register closes, so a late arrival
    marked within the window never alarms anyone."""
    if not school.settings.first_day_alerts:
        return []
    return to_parents(
        school,
        pupil,
        rule=FIRST_DAY,
        template=TemplateKey.FIRST_DAY_ABSENCE,
        about_date=day,
        key_part=day.isoformat(),
        values={"session": "morning" if session == "am" else "afternoon"},
        session=session,
        not_before=school.register_closes(day, session),
    )


def worker_notices(school: SchoolFacts, pupil: PupilFacts, day: date, session: str, code: str) -> list[PlannedMessage]:
    """An unexplained or unauthorised absence of a pupil with a social worker or youth
    offending team worker goes to each of them; a looked-after pupil's also to the Virtual School."""
    if not school.settings.worker_notices:
        return []
    planned = []
    for role, who in WORKER_ROLES:
        person = getattr(pupil, role)
        if not person or (role == "virtual_school_contact" and not pupil.looked_after):
            continue
        text = render(
            school.template(TemplateKey.WORKER_ABSENCE_NOTICE),
            {
                "school_name": school.name,
                "forename": pupil.forename,
                "date": day.isoformat(),
                "worker_name": person.get("name", who),
                "upn": pupil.upn,
                "session": "morning" if session == "am" else "afternoon",
                "code": code,
                "code_meaning": ATTENDANCE_CODES[code].meaning.lower(),
            },
        )
        base = {"school_urn": pupil.school_urn, "upn": pupil.upn, "about_date": day, "rule": WORKER_NOTICE}
        key = f"{WORKER_NOTICE}:{pupil.school_urn}:{pupil.upn}:{day}:{session}:{role}"
        planned.append(
            _message(
                base,
                key,
                role,
                person_address(person, who),
                text,
                session=session,
                not_before=school.register_closes(day, session),
            )
        )
    return planned


def chase_stage_due(settings: SchoolNotificationSettings, school_days: int, already: int | None) -> int | None:
    """The chase that falls due after `school_days`, if not already sent. Only the latest due
    stage is sent: an N found late gets one reminder, not a burst of them."""
    due = [stage for stage in settings.chase_after_school_days if stage <= school_days]
    if not due or (already is not None and already >= due[-1]):
        return None
    return due[-1]


def chase_messages(
    school: SchoolFacts, pupil: PupilFacts, day: date, stage: int, school_days: int
) -> list[PlannedMessage]:
    return to_parents(
        school,
        pupil,
        rule=CHASE,
        template=TemplateKey.ABSENCE_CHASE,
        about_date=day,
        key_part=f"{day}:{stage}",
        values={"school_days": school_days},
        stage=stage,
    )


def unresolved_lead_message(school: SchoolFacts, pupil: PupilFacts, day: date, school_days: int) -> PlannedMessage:
    lead = school.settings.attendance_lead
    text = render(
        school.template(TemplateKey.LEAD_UNRESOLVED_ABSENCE),
        {
            "school_name": school.name,
            "forename": pupil.forename,
            "date": day.isoformat(),
            "lead_name": lead.name if lead else "attendance lead",
            "upn": pupil.upn,
            "school_days": school_days,
        },
    )
    return _to_lead(school, pupil, rule=LEAD_UNRESOLVED, about_date=day, key_part=day.isoformat(), text=text)


def _evidence_text(evidence: FlagEvidence | None, flag: RiskFlagRaisedV1) -> str:
    if evidence is not None:
        return f"{evidence.count} {evidence.unit.replace('_', ' ')} from {evidence.since} to {evidence.until}."
    if flag.overall_absence_rate is not None:
        return (
            f"Overall absence {flag.overall_absence_rate:.1f}% "
            f"({flag.absent_sessions} of {flag.possible_sessions} possible sessions)."
        )
    return ""


def risk_flag_messages(school: SchoolFacts, pupil: PupilFacts, flag: RiskFlagRaisedV1) -> list[PlannedMessage]:
    """A raised flag goes to the school's attendance lead; a newly persistent absentee's parents
    also get the early-support message, once a school year."""
    planned = []
    since = flag.evidence.since if flag.evidence else flag.academic_year
    if flag.flag in school.settings.lead_flags:
        lead = school.settings.attendance_lead
        text = render(
            school.template(TemplateKey.LEAD_RISK_FLAG),
            {
                "school_name": school.name,
                "forename": pupil.forename,
                "date": flag.as_of.isoformat(),
                "lead_name": lead.name if lead else "attendance lead",
                "upn": pupil.upn,
                "flag": FLAG_WORDING[flag.flag],
                "evidence": _evidence_text(flag.evidence, flag),
            },
        )
        planned.append(
            _to_lead(school, pupil, rule=LEAD_FLAG, about_date=flag.as_of, key_part=f"{flag.flag}:{since}", text=text)
        )
    if flag.flag == "persistent_absence" and school.settings.early_support:
        rate = None if flag.overall_absence_rate is None else round(100 - flag.overall_absence_rate, 1)
        planned += to_parents(
            school,
            pupil,
            rule=EARLY_SUPPORT,
            template=TemplateKey.EARLY_SUPPORT,
            about_date=flag.as_of,
            letters=True,
            key_part=str(flag.academic_year),
            values={"attendance_rate": rate},
        )
    return planned


OUTCOME_WORDING = {
    "agreed": "agreed",
    "partly_agreed": "partly agreed",
    "refused": "refused",
    "cancelled": "cancelled",
}
_SESSION_WORD = {"am": "morning", "pm": "afternoon"}
# A long leave's sessions are summarised past this many, so a message stays readable.
SESSIONS_LISTED = 10


# What follows an absence the school did not agree: said in every refusal, so that no family
# first learns of it from a penalty notice.
IF_ABSENT_ANYWAY = (
    "If your child is absent on a day that was not agreed, the absence is unauthorised, and "
    "unauthorised absence can lead the local authority to issue a penalty notice."
)


def _sessions_text(decision: LeaveDecidedV1) -> str:
    if not decision.sessions:
        if decision.outcome == "cancelled":
            return "No sessions are now agreed: we expect your child in school."
        return f"No sessions are agreed: an absence on those days would be unauthorised. {IF_ABSENT_ANYWAY}"
    named = [
        f"{s.date.strftime('%a %d %b')} {'morning' if s.session == 'am' else 'afternoon'}" for s in decision.sessions
    ]
    more = len(named) - SESSIONS_LISTED
    listed = ", ".join(named[:SESSIONS_LISTED]) + (f" and {more} more" if more > 0 else "")
    agreed = f"Agreed ({len(named)} session{'s' if len(named) != 1 else ''}): {listed}."
    return f"{agreed} {IF_ABSENT_ANYWAY}" if decision.outcome == "partly_agreed" else agreed


def leave_decision_messages(school: SchoolFacts, pupil: PupilFacts, decision: LeaveDecidedV1) -> list[PlannedMessage]:
    """Each decision on a leave request (and each later reduction or cancellation) goes to
    every parent once: the key names the request and the decision's number."""
    if not school.settings.leave_decisions:
        return []
    return to_parents(
        school,
        pupil,
        rule=LEAVE_DECISION,
        template=TemplateKey.LEAVE_DECISION,
        about_date=decision.first_day,
        letters=True,
        key_part=f"{decision.request_id}:{decision.decision}",
        values={
            "outcome": OUTCOME_WORDING[decision.outcome],
            "leave_reason": LEAVE_GROUNDS[decision.reason].meaning,
            "first_day": decision.first_day.strftime("%A %d %B %Y"),
            "last_day": decision.last_day.strftime("%A %d %B %Y"),
            "sessions": _sessions_text(decision),
            "decision_reason": f"Reason: {decision.decision_reason}" if decision.decision_reason else "",
        },
    )


def missing_register_reminder(school: SchoolFacts, missing: RegisterMissingV1) -> list[PlannedMessage]:
    """A register still not taken a while after it closed, or one class's register of it: the
    school's attendance lead, once per register or class (undeliverable, with the reason, when
    the school has named no lead)."""
    if not school.settings.missing_register_reminders:
        return []
    lead = school.settings.attendance_lead
    text = render(
        school.template(TemplateKey.MISSING_REGISTER),
        {
            "school_name": school.name,
            "date": missing.date.strftime("%A %d %B %Y"),
            "lead_name": lead.name if lead else "attendance lead",
            "session": _SESSION_WORD[missing.session],
            "closes_at": missing.closes_at.astimezone(SCHOOL_TIME_ZONE).strftime("%H:%M"),
            "register": _SESSION_WORD[missing.session]
            + (f", class {missing.registration_group} ({missing.pupils} pupils)" if missing.registration_group else ""),
            "registration_group": missing.registration_group,
        },
    )
    address = person_address(lead.model_dump() if lead else None, "attendance lead for the school")
    base = {"school_urn": missing.school_urn, "upn": None, "about_date": missing.date, "rule": MISSING_REGISTER}
    register = f"{missing.session}:{missing.registration_group}" if missing.registration_group else missing.session
    key = f"{MISSING_REGISTER}:{missing.school_urn}:{missing.date}:{register}:lead"
    return [_message(base, key, "attendance_lead", address, text, session=missing.session)]


ATTENDANCE_SUMMARY = "attendance-summary"
# Rules whose messages may go by post: none is about today.
LETTER_RULES = frozenset(
    {
        LEAVE_DECISION,
        NOTICE_TO_IMPROVE_LETTER,
        PENALTY_NOTICE_LETTER,
        MEETING_INVITATION,
        ATTENDANCE_SUMMARY,
        EARLY_SUPPORT,
    }
)


def holds_parental_responsibility(contact: dict[str, Any]) -> bool:
    return contact.get("parental_responsibility", True)


def _long_date(day: date) -> str:
    return day.strftime("%A %d %B %Y")


def notice_to_improve_letters(school: SchoolFacts, pupil: PupilFacts, notice: NoticeToImproveIssuedV1):
    """A Notice to Improve goes to every parent with parental responsibility, by post where it
    must: its improvement period and what counts as sufficient improvement."""
    criterion = ImprovementCriterion(notice.criterion, notice.min_attendance_percent)
    return to_parents(
        school,
        pupil,
        rule=NOTICE_TO_IMPROVE_LETTER,
        template=TemplateKey.NOTICE_TO_IMPROVE,
        about_date=notice.issued_on,
        key_part=str(notice.notice_id),
        values={
            "date": _long_date(notice.issued_on),
            "period_start": _long_date(notice.period_start),
            "period_end": _long_date(notice.period_end),
            "improvement": criterion.describe(),
            "named_contact": school.named_contact,
        },
        letters=True,
        recipients=holds_parental_responsibility,
    )


def penalty_notice_letters(school: SchoolFacts, pupil: PupilFacts, notice: PenaltyNoticeIssuedV1):
    """A penalty notice is issued to one parent: the letter goes to the contact of that name
    (every contact with parental responsibility when none matches, so a notice never goes
    unannounced; the letter names the parent it was issued to)."""
    named = notice.parent_name.casefold().strip()
    matches = [c for c in pupil.contacts if (c.get("name") or "").casefold().strip() == named]
    amount = f"£{notice.full_amount}"
    if notice.lower_amount is not None:
        amount = f"£{notice.lower_amount} if paid within 21 days, or £{notice.full_amount} if paid within 28 days"
    first, last = min(s.date for s in notice.sessions), max(s.date for s in notice.sessions)
    sessions = f"{len(notice.sessions)} sessions from {_long_date(first)} to {_long_date(last)}"
    return to_parents(
        school,
        pupil,
        rule=PENALTY_NOTICE_LETTER,
        template=TemplateKey.PENALTY_NOTICE,
        about_date=notice.issued_on,
        key_part=str(notice.notice_id),
        values={
            "date": _long_date(notice.issued_on),
            "sessions": sessions,
            "amount": amount,
            "named_contact": school.named_contact,
        },
        letters=True,
        recipients=(lambda c: c in matches) if matches else holds_parental_responsibility,
    )


def meeting_invitations(school: SchoolFacts, pupil: PupilFacts, meeting: AttendanceMeetingArrangedV1):
    """An attendance meeting arranged on a support case: an invitation to each parent with
    parental responsibility, by post where it must go by post."""
    starts = meeting.starts_at.astimezone(SCHOOL_TIME_ZONE)
    return to_parents(
        school,
        pupil,
        rule=MEETING_INVITATION,
        template=TemplateKey.MEETING_INVITATION,
        about_date=starts.date(),
        key_part=str(meeting.meeting_id),
        values={
            "date": _long_date(starts.date()),
            "time": starts.strftime("%H:%M"),
            "place": meeting.place,
            "purpose": meeting.purpose,
            "named_contact": school.named_contact,
        },
        letters=True,
        recipients=holds_parental_responsibility,
    )


@dataclass(frozen=True, slots=True)
class SummaryFigures:
    """A pupil's sessions from analytics: the school year so far, the term so far, and the
    period before this one (None at the start of the year), each to the period's end."""

    year_possible: int
    year_attended: int
    term_possible: int
    term_attended: int
    previous_possible: int | None = None
    previous_attended: int | None = None
    absent_by_weekday: tuple[int, ...] = ()
    late_on_recent_days: tuple[bool, ...] = ()


def summary_recipient(contact: dict[str, Any]) -> bool:
    """Every parent or carer the pupil lives with, and one living elsewhere who has parental
    responsibility."""
    return contact.get("lives_with_pupil", True) or contact.get("parental_responsibility", True)


def _rate(attended: int | None, possible: int | None) -> float | None:
    return round(100 * attended / possible, 1) if attended is not None and possible else None


def summary_tone(
    circumstances: Circumstances, figures: SummaryFigures, tiers: tuple[Tier, ...]
) -> tuple[Tone, str | None]:
    tier = tier_of(figures.year_attended, figures.year_possible, tiers)
    tone = choose_tone(
        circumstances,
        tier=tier,
        tier_names=[t.name for t in tiers],
        attendance_now=_rate(figures.term_attended, figures.term_possible),
        attendance_before=_rate(figures.previous_attended, figures.previous_possible),
    )
    return tone, tier


TEMPLATE_OF_TONE = {
    Tone.PRAISE: TemplateKey.SUMMARY_PRAISE,
    Tone.ENCOURAGING: TemplateKey.SUMMARY_ENCOURAGING,
    Tone.CONCERN: TemplateKey.SUMMARY_CONCERN,
    Tone.SUPPORTIVE: TemplateKey.SUMMARY_SUPPORTIVE,
    Tone.NO_ABSENCE_PRESSURE: TemplateKey.SUMMARY_NO_ABSENCE_PRESSURE,
}


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


def summary_messages(
    school: SchoolFacts,
    pupil: PupilFacts,
    period: SummaryPeriod,
    figures: SummaryFigures,
    circumstances: Circumstances,
    tiers: tuple[Tier, ...],
) -> list[PlannedMessage]:
    """A pupil's regular summary to each parent it goes to: days missed in the term and the
    year, what the rate means, a pattern worth saying, in the tone the child's circumstances
    and tier call for. The key names the pupil, the period and the recipient."""
    tone, _ = summary_tone(circumstances, figures, tiers)
    days_term = (figures.term_possible - figures.term_attended) / 2
    days_year = (figures.year_possible - figures.year_attended) / 2
    rate = _rate(figures.year_attended, figures.year_possible)
    patterns = ""
    if tone in (Tone.PRAISE, Tone.ENCOURAGING, Tone.CONCERN):
        said = [weekday_pattern(figures.absent_by_weekday or (0,) * 5), lateness_pattern(figures.late_on_recent_days)]
        patterns = "".join(f"{_sentence(p)}. " for p in said if p)
    return to_parents(
        school,
        pupil,
        rule=ATTENDANCE_SUMMARY,
        template=TEMPLATE_OF_TONE[tone],
        about_date=period.end,
        key_part=period.key,
        values={
            "date": _long_date(period.end),
            "period": period.label,
            "days_missed": _sentence(days_missed_sentence(days_term, days_year, period.term.name)),
            "days_missed_term": f"{days_term:g}",
            "days_missed_year": f"{days_year:g}",
            "attendance_percent": f"{rate:g}" if rate is not None else "not yet known",
            "what_it_means": what_it_means(rate) if rate is not None else "there is nothing to count yet",
            "patterns": patterns,
            "named_contact": school.named_contact,
        },
        letters=True,
        recipients=summary_recipient,
        period=period.key,
    )
