"""notification's regular summaries, decision letters and print runs as pure rules: who gets
a summary, in which words, language and channel, and what a printed letter says (issue 26)."""

import uuid
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

from PIL import Image

from attendance_shared.events import (
    AttendanceMeetingArrangedV1,
    NoticeToImproveIssuedV1,
    PenaltyNoticeIssuedV1,
    PlannedSession,
)
from attendance_shared.rules.calendar import calendar_from_values
from attendance_shared.rules.letters import MEETING_INVITATION, NOTICE_TO_IMPROVE_LETTER, chronology_outcome
from attendance_shared.rules.parent_summary import Circumstances, summary_periods
from attendance_shared.rules.tiers import DEFAULT_TIERS
from notification_service.domain import rules
from notification_service.domain.letters import Letter, Sender, print_run_pdf
from notification_service.domain.policy import Person, SchoolNotificationSettings, SummarySettings
from notification_service.domain.rules import PupilFacts, SchoolFacts, SummaryFigures
from notification_service.domain.templates import Template, TemplateKey, missing_placeholders
from tests.factories import calendar_body, make_upn
from tests.helpers import poppler

UPN = make_upn(serial=311)
LEAD = Person(name="Ms Patel", email="attendance@oak.example.org", phone="01632 960000")
SCHOOL = SchoolFacts(
    urn="100001", name="Oak Lane Primary", settings=SchoolNotificationSettings(summaries=SummarySettings(contact=LEAD))
)
HOME = {"lines": ["1 Acacia Avenue"], "town": "Leeds", "postcode": "LS1 4AP"}
PUPIL = PupilFacts(
    school_urn="100001",
    upn=UPN,
    forename="Sam",
    date_of_birth=date(2016, 3, 4),
    address=HOME,
    contacts=(
        {"name": "Alex Taylor", "email": "alex@example.org", "language": "pl"},
        {"name": "Jo Taylor"},  # lives with Sam; no e-mail or phone: a letter home
        {"name": "Chris Smith", "lives_with_pupil": False, "parental_responsibility": True, "phone": "07700900002"},
        {"name": "Gran", "lives_with_pupil": False, "parental_responsibility": False, "email": "gran@example.org"},
    ),
)
_BODY = calendar_body()
CALENDAR = calendar_from_values(_BODY["academic_year"], _BODY["terms"], _BODY["closures"])
PERIOD = summary_periods(CALENDAR, "half_termly")[1]  # the second half of the autumn term
OF_AGE = Circumstances(of_compulsory_school_age=True)


def figures(year_missed: int, *, term_missed: int | None = None, year: int = 140, **extra) -> SummaryFigures:
    term_missed = year_missed if term_missed is None else term_missed
    return SummaryFigures(
        year_possible=year, year_attended=year - year_missed, term_possible=60, term_attended=60 - term_missed, **extra
    )


def summaries(found: SummaryFigures, circumstances: Circumstances = OF_AGE, *, pupil: PupilFacts = PUPIL):
    return rules.summary_messages(SCHOOL, pupil, PERIOD, found, circumstances, DEFAULT_TIERS)


def test_a_summary_goes_to_each_parent_at_home_and_one_elsewhere_with_parental_responsibility() -> None:
    planned = summaries(figures(7))
    assert [(p.contact_index, p.channel) for p in planned] == [(0, "email"), (1, "post"), (2, "sms")]
    assert planned[1].recipient == "Jo Taylor\n1 Acacia Avenue\nLeeds\nLS1 4AP"  # the pupil's home
    assert {p.idempotency_key.rsplit(":", 2)[1] for p in planned} == {"2026-autumn-2"}
    assert len({p.idempotency_key for p in planned}) == 3  # pupil, period and recipient
    assert all(p.period == "2026-autumn-2" and p.rule == "attendance-summary" for p in planned)


def test_a_summary_says_days_missed_what_the_rate_means_and_names_the_contact() -> None:
    # 14 of 140 sessions missed, 10 of them this term: exactly 90% is persistent absence, a
    # tier below "expected", so the letter asks for a conversation.
    body = summaries(figures(14, term_missed=10))[1].body
    assert "5 days missed this autumn term and 7 days this school year." in body
    assert "Sam's attendance this school year is 90%: 90% is half a day every week, about 19 days" in body
    assert "we would like to work with you to help" in body
    assert "Ms Patel (attendance@oak.example.org, 01632 960000)" in body
    assert "the second half of the autumn term" in body


def test_the_wording_follows_tiers_improvement_and_circumstances() -> None:
    def template(found: SummaryFigures, circumstances: Circumstances = OF_AGE) -> str:
        return summaries(found, circumstances)[0].template or ""

    assert template(figures(2)) == TemplateKey.SUMMARY_PRAISE  # 98.6%: the top tier
    assert template(figures(10)) == TemplateKey.SUMMARY_ENCOURAGING  # 92.9%
    assert template(figures(30)) == TemplateKey.SUMMARY_CONCERN  # 78.6%
    # Up from 70% in the last period to 80% this term: improving, so praise.
    improving = figures(30, term_missed=12, previous_possible=60, previous_attended=42)
    assert template(improving) == TemplateKey.SUMMARY_PRAISE
    for supportive in (
        Circumstances(of_compulsory_school_age=True, ehcp=True),
        Circumstances(of_compulsory_school_age=True, long_sickness=True),
        Circumstances(of_compulsory_school_age=True, open_support_case=True),
    ):
        assert template(figures(30), supportive) == TemplateKey.SUMMARY_SUPPORTIVE
    under_five = Circumstances(of_compulsory_school_age=False, ehcp=True)
    assert template(figures(30), under_five) == TemplateKey.SUMMARY_NO_ABSENCE_PRESSURE


def test_no_warning_words_reach_a_sick_or_under_age_child_s_parents() -> None:
    warning_words = ("harder", "penalty", "legal", "Missing this much", "most absences are")
    habits = {"absent_by_weekday": (6, 0, 0, 0, 0)}
    for circumstances in (
        Circumstances(of_compulsory_school_age=False),
        Circumstances(of_compulsory_school_age=True, long_sickness=True),
    ):
        body = summaries(figures(30, **habits), circumstances)[0].body
        assert "15 days missed this autumn term" in body
        assert not any(word in body for word in warning_words), body
    assert "not yet of compulsory school age" in summaries(figures(4), Circumstances(False))[0].body


def test_a_pattern_worth_saying_is_said() -> None:
    habits = {"absent_by_weekday": (6, 1, 0, 1, 0), "late_on_recent_days": (True,) * 4 + (False,) * 6}
    body = summaries(figures(12, **habits))[0].body
    assert "Most absences are on Mondays (6 of 8 sessions missed). Late on 4 of the last 10 school days." in body


def test_a_version_in_the_parents_language_is_used_and_english_otherwise() -> None:
    polish = Template("Frekwencja: {forename}", "Drogi {contact_name}, {forename}: {days_missed_term} dni.")
    school = replace(SCHOOL, templates={(TemplateKey.SUMMARY_ENCOURAGING, "pl"): polish})
    planned = rules.summary_messages(school, PUPIL, PERIOD, figures(10, term_missed=6), OF_AGE, DEFAULT_TIERS)
    assert (planned[0].language, planned[0].body) == ("pl", "Drogi Alex Taylor, Sam: 3 dni.")
    assert planned[1].language == "en" and planned[1].body.startswith("Dear Jo Taylor")


def test_a_version_must_name_the_child_and_the_days_missed() -> None:
    assert missing_placeholders(TemplateKey.SUMMARY_PRAISE, "Drogi {contact_name}, {forename}") == [
        "body: lacks the days missed: use {days_missed}, {days_missed_term} or {days_missed_year}"
    ]
    assert missing_placeholders(TemplateKey.NOTICE_TO_IMPROVE, "Dear {contact_name}") == [
        "body: lacks {forename}: a parent must be told which child the message is about"
    ]
    assert missing_placeholders(TemplateKey.LEAD_RISK_FLAG, "{upn}") == []


def test_a_parent_with_no_way_to_be_reached_is_recorded_with_the_reason() -> None:
    nowhere = replace(PUPIL, address=None, contacts=({"name": "Jo Taylor"},))
    planned = summaries(figures(4), pupil=nowhere)
    assert planned[0].undeliverable_reason == "the contact has no email address, phone number or postal address"
    [alone] = summaries(figures(4), pupil=replace(PUPIL, contacts=()))
    assert alone.undeliverable_reason == "no parent or carer contact is on the admission register"
    assert alone.template == TemplateKey.SUMMARY_PRAISE  # the preview still says which wording it is
    # A same-day alert never goes by post: it would arrive too late.
    assert rules.first_day_alerts(SCHOOL, PUPIL, date(2026, 9, 7), "am")[1].undeliverable_reason == (
        "the contact has no email address or phone number"
    )


def test_decision_letters_go_to_those_with_parental_responsibility_and_a_penalty_to_its_parent() -> None:
    common = {"case_id": uuid.uuid4(), "notice_id": uuid.uuid4(), "school_urn": "100001", "la_code": "201", "upn": UPN}
    notice = NoticeToImproveIssuedV1(
        **common,
        issued_on=date(2026, 11, 2),
        period_start=date(2026, 11, 3),
        period_end=date(2026, 12, 1),
        criterion="attendance_at_least",
        min_attendance_percent=95,
        status="running",
    )
    letters = rules.notice_to_improve_letters(SCHOOL, PUPIL, notice)
    assert [p.contact_index for p in letters] == [0, 1, 2]  # not Gran
    assert "attendance of at least 95% in the improvement period" in letters[1].body
    assert "from Tuesday 03 November 2026 to Tuesday 01 December 2026" in letters[1].body
    assert letters[1].channel == "post"
    penalty = PenaltyNoticeIssuedV1(
        **common,
        parent_name="Jo Taylor",
        issued_on=date(2026, 11, 20),
        sessions=(PlannedSession(date=date(2026, 11, 9), session="am"),) * 10,
        lower_amount=80,
        full_amount=160,
    )
    [letter] = rules.penalty_notice_letters(SCHOOL, PUPIL, penalty)
    assert (letter.contact_index, letter.channel) == (1, "post")
    assert "£80 if paid within 21 days, or £160 if paid within 28 days" in letter.body


def test_a_print_run_is_a_letter_a_page_addressed_for_a_window_envelope(tmp_path: Path) -> None:
    letters = [
        Letter(7, "Jo Taylor\n1 Acacia Avenue\nLeeds\nLS1 4AP", "Sam's attendance", "Dear Jo Taylor, hi.", PERIOD.end),
        Letter(8, "Chris Smith\n2 Elm Road\nLS2 9JT", "Sam's attendance", "Dear Chris Smith, hello.", PERIOD.end),
    ]
    pdf = tmp_path / "run.pdf"
    pdf.write_bytes(print_run_pdf(Sender("Oak Lane Primary", ["Reply to: office@oak.example.org"]), letters, "run"))
    assert "Pages:           2" in poppler("pdfinfo", str(pdf)).decode()
    # The address block is where a left-hand window shows it: 20 mm in, 45 to 80 mm down (A4 is 210 x 297 mm).
    window = poppler("pdftotext", "-f", "1", "-l", "1", "-x", "57", "-y", "128", "-W", "255", "-H", "99", str(pdf), "-")
    window = window.decode()
    assert window.split() == ["Jo", "Taylor", "1", "Acacia", "Avenue", "Leeds", "LS1", "4AP"]
    second = poppler("pdftotext", "-f", "2", "-l", "2", "-layout", str(pdf), "-").decode()
    assert "Chris Smith" in second and "Dear Chris Smith," in second and "office@oak.example.org" in second
    assert "Jo Taylor" not in second
    # Looked at: ink in the window and in the letter's text, none beside the window.
    poppler("pdftoppm", "-gray", "-r", "50", "-f", "1", "-l", "1", str(pdf), str(tmp_path / "page"))
    [page] = tmp_path.glob("page*.pgm")
    image = Image.open(page)
    per_mm = image.size[0] / 210

    def ink(left_mm: float, top_mm: float, right_mm: float, bottom_mm: float) -> int:
        box = tuple(round(v * per_mm) for v in (left_mm, top_mm, right_mm, bottom_mm))
        return sum(image.crop(box).histogram()[:128])

    assert ink(20, 45, 110, 80) > 50  # the address, through the window
    assert ink(20, 85, 190, 130) > 50  # the letter
    assert ink(115, 45, 200, 80) == 0  # nothing that would show beside the window


def test_a_meeting_invitation_goes_to_those_with_parental_responsibility_in_england_time() -> None:
    meeting = AttendanceMeetingArrangedV1(
        case_id=uuid.uuid4(),
        meeting_id=uuid.uuid4(),
        school_urn="100001",
        la_code="201",
        upn=UPN,
        starts_at=datetime(2026, 11, 10, 15, 30, tzinfo=UTC),  # 15:30 in November is 15:30 in England
        place="the school office",
        purpose="to agree a support plan",
    )
    letters = rules.meeting_invitations(SCHOOL, PUPIL, meeting)
    assert [(p.contact_index, p.channel) for p in letters] == [(0, "email"), (1, "post"), (2, "sms")]
    assert "on Tuesday 10 November 2026 at 15:30, at the school office" in letters[1].body
    assert letters[1].rule == MEETING_INVITATION and letters[1].about_date == date(2026, 11, 10)


def test_the_chronology_records_a_letters_outcome_and_nothing_else() -> None:
    assert chronology_outcome(MEETING_INVITATION, "post", "sent", None) == (
        "Invitation to an attendance meeting sent by post"
    )
    assert chronology_outcome(NOTICE_TO_IMPROVE_LETTER, "email", "failed", "SMTP 550: no such user") == (
        "Notice to Improve letter not sent (failed): SMTP 550: no such user"
    )
    assert chronology_outcome(NOTICE_TO_IMPROVE_LETTER, "sms", "delivered", None) is None  # sent was logged
    assert chronology_outcome("first-day-absence", "email", "sent", None) is None  # not a case's letter
