import uuid
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta

from attendance_shared.events import LeaveDecidedV1, PlannedSession, RegisterMissingV1
from attendance_shared.rules.calendar import Closure, SchoolCalendar, Term
from notification_service.domain import rules
from notification_service.domain.policy import (
    Person,
    SchoolNotificationSettings,
    YearCalendars,
    after_quiet_hours,
    in_quiet_hours,
    retry_delay_s,
)
from notification_service.domain.rules import Preference, PupilFacts, SchoolFacts
from notification_service.domain.templates import TemplateKey, template_errors
from tests.factories import SAMPLE_FLAG, make_upn

UPN = make_upn(serial=301)
SCHOOL = SchoolFacts(urn="100001", name="Oak Lane Primary")
PUPIL = PupilFacts(
    school_urn="100001",
    upn=UPN,
    forename="Sam",
    contacts=(
        {"name": "Alex", "email": "alex@example.org", "phone": "07700900001", "preferred_channel": "sms"},
        {"name": "Jo", "email": "jo@example.org"},
    ),
)
FLAG = SAMPLE_FLAG.model_copy(update={"upn": UPN})


def test_each_reachable_parent_gets_one_message_on_their_preferred_channel() -> None:
    planned = [p for p in rules.risk_flag_messages(SCHOOL, PUPIL, FLAG) if p.recipient_role == "parent"]
    assert [(p.channel, p.recipient) for p in planned] == [("sms", "07700900001"), ("email", "jo@example.org")]
    assert "Sam's attendance this school year is 85.0%" in planned[0].body
    assert len({p.idempotency_key for p in planned}) == 2


def test_a_parents_own_preference_beats_the_register_and_an_opt_out_is_recorded() -> None:
    pupil = replace(PUPIL, preferences={0: Preference("email"), 1: Preference(opted_out=True)})
    planned = rules.first_day_alerts(SCHOOL, pupil, date(2026, 9, 7), "am")
    assert (planned[0].channel, planned[0].recipient) == ("email", "alex@example.org")
    assert planned[1].undeliverable_reason == "the contact has opted out of messages"


def test_a_pupil_with_no_usable_contact_is_recorded_as_undeliverable() -> None:
    nobody = PupilFacts(school_urn="100001", upn=UPN, forename="Sam", contacts=({"name": "Alex"},))
    planned = rules.first_day_alerts(SCHOOL, nobody, date(2026, 9, 7), "am")
    assert planned[0].undeliverable_reason == "the contact has no email address or phone number"
    planned = rules.first_day_alerts(
        SCHOOL, PupilFacts(school_urn="100001", upn=UPN, forename="Sam"), date(2026, 9, 7), "am"
    )
    assert planned[0].undeliverable_reason == "no parent or carer contact is on the admission register"


def test_first_day_alert_waits_for_the_register_to_close_and_is_keyed_per_day() -> None:
    am = rules.first_day_alerts(SCHOOL, PUPIL, date(2026, 9, 7), "am")
    pm = rules.first_day_alerts(SCHOOL, PUPIL, date(2026, 9, 7), "pm")
    assert am[0].not_before == datetime(2026, 9, 7, 8, 0, tzinfo=UTC)  # 09:00 BST
    assert [p.idempotency_key for p in am] == [p.idempotency_key for p in pm]
    off = SchoolFacts(urn="100001", name="x", settings=SchoolNotificationSettings(first_day_alerts=False))
    assert rules.first_day_alerts(off, PUPIL, date(2026, 9, 7), "am") == []


def test_workers_hear_of_unauthorised_absence_and_the_virtual_school_only_for_looked_after_pupils() -> None:
    worker = {"name": "Kim", "email": "kim@la.example.org"}
    pupil = PupilFacts(
        school_urn="100001",
        upn=UPN,
        forename="Sam",
        social_worker=worker,
        virtual_school_contact={"name": "VS", "phone": "07700900002"},
    )
    assert [p.recipient_role for p in rules.worker_notices(SCHOOL, pupil, date(2026, 9, 7), "am", "G")] == [
        "social_worker"
    ]
    looked_after = replace(pupil, looked_after=True)
    planned = rules.worker_notices(SCHOOL, looked_after, date(2026, 9, 7), "pm", "N")
    assert [(p.recipient_role, p.channel) for p in planned] == [
        ("social_worker", "email"),
        ("virtual_school_contact", "sms"),
    ]
    assert "reason for absence not yet established" in planned[0].body


def test_only_the_latest_due_chase_stage_is_sent_once() -> None:
    settings = SchoolNotificationSettings()
    assert rules.chase_stage_due(settings, 1, None) is None
    assert rules.chase_stage_due(settings, 2, None) == 2
    assert rules.chase_stage_due(settings, 3, 2) is None
    assert rules.chase_stage_due(settings, 5, None) == 4
    assert rules.chase_stage_due(settings, 9, 4) is None


def test_school_days_skip_weekends_holidays_and_closures() -> None:
    calendar = SchoolCalendar(
        2026,
        (Term("autumn", date(2026, 9, 3), date(2026, 12, 18), date(2026, 10, 26), date(2026, 10, 30)),),
        (Closure(date(2026, 9, 8), "inset"),),
    )
    days = YearCalendars({2026: calendar})
    assert days.school_days_since(date(2026, 9, 4), date(2026, 9, 9)) == 2  # Mon 7, (Tue 8 INSET), Wed 9
    assert days.school_days_since(date(2026, 10, 23), date(2026, 11, 3)) == 2  # half-term skipped
    assert YearCalendars({}).school_days_since(date(2026, 9, 4), date(2026, 9, 9)) == 3


def test_the_lead_hears_of_flags_and_is_undeliverable_when_none_is_set() -> None:
    planned = rules.risk_flag_messages(SCHOOL, PUPIL, FLAG.model_copy(update={"flag": "severe_absence"}))
    assert [(p.recipient_role, p.undeliverable_reason) for p in planned] == [
        ("attendance_lead", "no attendance lead for the school is set")
    ]
    school = SchoolFacts(
        urn="100001",
        name="x",
        settings=SchoolNotificationSettings(attendance_lead={"name": "Pat", "email": "pat@school.example"}),
    )
    planned = rules.risk_flag_messages(school, PUPIL, FLAG.model_copy(update={"flag": "at_risk_of_persistent_absence"}))
    assert planned == []


def test_quiet_hours_hold_until_the_morning_across_midnight_and_clock_changes() -> None:
    start, end = time(20, 0), time(8, 0)
    evening = datetime(2026, 10, 24, 21, 0, tzinfo=UTC)  # 22:00 BST, the night the clocks go back
    assert in_quiet_hours(evening, start, end)
    assert after_quiet_hours(evening, start, end) == datetime(2026, 10, 25, 8, 0, tzinfo=UTC)  # 08:00 GMT
    noon = datetime(2026, 10, 26, 12, 0, tzinfo=UTC)
    assert after_quiet_hours(noon, start, end) == noon
    early = datetime(2026, 11, 2, 6, 0, tzinfo=UTC)
    assert after_quiet_hours(early, start, end) == datetime(2026, 11, 2, 8, 0, tzinfo=UTC)


def test_backoff_doubles_to_a_ceiling() -> None:
    assert [retry_delay_s(n, base_s=30, max_s=100) for n in (1, 2, 3, 4)] == [30, 60, 100, 100]


def test_templates_refuse_unknown_placeholders_and_format_tricks() -> None:
    assert template_errors(TemplateKey.FIRST_DAY_ABSENCE, "body", "Dear {contact_name}, {forename}") == []
    assert template_errors(TemplateKey.FIRST_DAY_ABSENCE, "body", "{upn}")[0].startswith("body: {upn} is not")
    assert template_errors(TemplateKey.FIRST_DAY_ABSENCE, "body", "{forename.__class__}")
    assert template_errors(TemplateKey.FIRST_DAY_ABSENCE, "body", "{forename!r}")
    assert template_errors(TemplateKey.FIRST_DAY_ABSENCE, "body", "oops {")


def _decision(outcome: str, sessions: int, decision: int = 1, reason: str | None = None) -> LeaveDecidedV1:
    days = [date(2026, 11, 10) + timedelta(days=i // 2) for i in range(sessions)]
    return LeaveDecidedV1(
        school_urn="100001",
        la_code="201",
        upn=UPN,
        request_id=uuid.UUID(int=7),
        decision=decision,
        outcome=outcome,
        reason="medical",
        code="M" if sessions else None,
        first_day=date(2026, 11, 10),
        last_day=date(2026, 11, 16),
        sessions=tuple(PlannedSession(date=d, session="am" if i % 2 == 0 else "pm") for i, d in enumerate(days)),
        decision_reason=reason,
        decided_by_role="staff",
        decided_at=datetime(2026, 11, 3, 10, tzinfo=UTC),
    )


def test_each_leave_decision_goes_to_every_parent_once_in_plain_words() -> None:
    agreed, to_jo = rules.leave_decision_messages(SCHOOL, PUPIL, _decision("agreed", 2))
    assert (agreed.channel, to_jo.recipient) == ("sms", "jo@example.org")
    assert agreed.rule == "leave-decision" and agreed.recipient_role == "parent"
    assert agreed.idempotency_key.endswith(f"{uuid.UUID(int=7)}:1:parent0")
    assert agreed.subject == "Leave of absence for Sam: agreed"
    assert "a medical or dental appointment has been agreed by Oak Lane Primary" in agreed.body
    assert "Agreed (2 sessions): Tue 10 Nov morning, Tue 10 Nov afternoon." in agreed.body

    reduced, _ = rules.leave_decision_messages(SCHOOL, PUPIL, _decision("partly_agreed", 30, 2, "one day only"))
    assert reduced.idempotency_key != agreed.idempotency_key  # a later decision is a new message
    assert "and 20 more" in reduced.body and reduced.body.endswith("Reason: one day only")
    refused, _ = rules.leave_decision_messages(SCHOOL, PUPIL, _decision("refused", 0, reason="no grounds"))
    assert "would be unauthorised" in refused.body
    assert "can lead the local authority to issue a penalty notice" in refused.body  # what follows
    quiet = replace(SCHOOL, settings=SchoolNotificationSettings(leave_decisions=False))
    assert rules.leave_decision_messages(quiet, PUPIL, _decision("agreed", 2)) == []


def test_a_missing_register_is_reminded_to_the_lead_once_and_is_about_the_school() -> None:
    missing = RegisterMissingV1(
        school_urn="100001",
        la_code="201",
        date=date(2026, 11, 2),
        session="pm",
        closes_at=datetime(2026, 11, 2, 13, 30, tzinfo=UTC),
        checked_at=datetime(2026, 11, 2, 14, 0, tzinfo=UTC),
    )
    [nobody] = rules.missing_register_reminder(SCHOOL, missing)
    assert (nobody.upn, nobody.channel, nobody.recipient_role) == (None, "none", "attendance_lead")
    assert nobody.undeliverable_reason == "no attendance lead for the school is set"
    lead = Person(name="Kim Lee", email="kim@school.example")
    school = replace(SCHOOL, settings=SchoolNotificationSettings(attendance_lead=lead))
    [told] = rules.missing_register_reminder(school, missing)
    assert (told.recipient, told.idempotency_key) == (
        "kim@school.example",
        "missing-register-lead:100001:2026-11-02:pm:lead",
    )
    assert told.subject == "Register not taken: Monday 02 November 2026, afternoon"
    assert "closed at 13:30" in told.body  # England's time: GMT in November
    one_class = missing.model_copy(update={"registration_group": "5B", "pupils": 28})
    [class_told] = rules.missing_register_reminder(school, one_class)
    assert class_told.subject == "Register not taken: Monday 02 November 2026, afternoon, class 5B (28 pupils)"
    assert class_told.idempotency_key == "missing-register-lead:100001:2026-11-02:pm:5B:lead"
    quiet = replace(SCHOOL, settings=SchoolNotificationSettings(missing_register_reminders=False))
    assert rules.missing_register_reminder(quiet, missing) == []
