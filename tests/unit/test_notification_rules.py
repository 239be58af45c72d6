from datetime import date

from attendance_shared.events import RiskFlagRaisedV1
from notification_service.domain.rules import early_support_messages
from tests.factories import make_upn

FLAG = RiskFlagRaisedV1(
    school_urn="100001",
    la_code="201",
    upn=make_upn(serial=301),
    flag="persistent_absence",
    academic_year=2026,
    possible_sessions=20,
    absent_sessions=3,
    overall_absence_rate=15.0,
    as_of=date(2026, 9, 18),
)


def test_each_reachable_parent_gets_one_message_on_their_preferred_channel() -> None:
    contacts = [
        {"name": "Alex", "email": "alex@example.org", "phone": "07700900001", "preferred_channel": "sms"},
        {"name": "Jo", "email": "jo@example.org"},
    ]
    planned = early_support_messages(FLAG, "Sam", contacts)
    assert [(p.channel, p.recipient) for p in planned] == [("sms", "07700900001"), ("email", "jo@example.org")]
    assert "Sam's attendance this school year is 85.0%" in planned[0].body
    assert len({p.idempotency_key for p in planned}) == 2


def test_a_pupil_with_no_usable_contact_is_recorded_as_undeliverable() -> None:
    planned = early_support_messages(FLAG, "Sam", [{"name": "Alex"}])
    assert planned[0].undeliverable_reason == "the contact has no email address or phone number"
    planned = early_support_messages(FLAG, "Sam", [])
    assert planned[0].undeliverable_reason == "no parent or carer contact is on the admission register"


def test_other_flags_send_no_early_support_message() -> None:
    assert early_support_messages(FLAG.model_copy(update={"flag": "severe_absence"}), "Sam", []) == []
