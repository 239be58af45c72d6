"""The event stream as a contract for integrators: which events go on which topic, who
publishes and who reads each, its key and headers, whether it carries personal data, and an
example of every event. `asyncapi_document()` builds the AsyncAPI 3.0 document from the event
models themselves, so it cannot drift from the code; `docs/asyncapi.json` is it, written by
`make asyncapi` and checked by `make test` (tests/unit/test_asyncapi.py).

Every write to an outbox is checked against `TOPIC_EVENTS` (attendance_shared.outbox), and each
service reads the topics `CONSUMES` names: the document says what the code does.
"""

import json
import sys
from typing import Any

from pydantic.json_schema import models_json_schema

from attendance_shared import topics
from attendance_shared.events import (
    ENVELOPE_OF,
    EVENT_TYPE_OF,
    AttendanceMeetingArrangedV1,
    LeaveDecidedV1,
    LeaveRequestedV1,
    MarkAmendedV1,
    NoticeToImproveConcludedV1,
    NoticeToImproveIssuedV1,
    NotificationOutcomeV1,
    PartTimeTimetableSetV1,
    Payload,
    PenaltyNoticeIssuedV1,
    PupilAdmittedV1,
    PupilDeletedV1,
    PupilRecordsRemovedV1,
    PupilUpdatedV1,
    RegisterMarkedV1,
    RegisterMissingV1,
    RiskFlagClearedV1,
    RiskFlagRaisedV1,
    SchoolCalendarSetV1,
    SchoolUpsertedV1,
    SessionMarkedV1,
    SupportCaseClosedV1,
    SupportCaseOpenedV1,
    SupportCaseStageChangedV1,
    SupportCaseUpdatedV1,
    SupportPlanAgreedV1,
    SupportPlanReviewDueV1,
)
from attendance_shared.topics import TopicSpec

TOPIC_EVENTS: dict[str, tuple[type[Payload], ...]] = {
    topics.SCHOOLS.name: (SchoolUpsertedV1, SchoolCalendarSetV1, RegisterMissingV1),
    topics.PUPILS.name: (
        PupilAdmittedV1,
        PupilUpdatedV1,
        PupilDeletedV1,
        PupilRecordsRemovedV1,
        LeaveRequestedV1,
        LeaveDecidedV1,
        PartTimeTimetableSetV1,
    ),
    topics.MARKS.name: (RegisterMarkedV1, MarkAmendedV1, SessionMarkedV1),
    topics.RISK_FLAGS.name: (RiskFlagRaisedV1, RiskFlagClearedV1),
    topics.NOTIFICATION_OUTCOMES.name: (NotificationOutcomeV1,),
    topics.SUPPORT_CASES.name: (
        SupportCaseOpenedV1,
        SupportCaseStageChangedV1,
        SupportCaseUpdatedV1,
        SupportCaseClosedV1,
        SupportPlanAgreedV1,
        SupportPlanReviewDueV1,
        NoticeToImproveIssuedV1,
        NoticeToImproveConcludedV1,
        PenaltyNoticeIssuedV1,
        AttendanceMeetingArrangedV1,
    ),
}

# By event type, for the check every outbox write makes.
TOPIC_EVENT_TYPES: dict[str, frozenset[str]] = {
    topic: frozenset(EVENT_TYPE_OF[model] for model in events) for topic, events in TOPIC_EVENTS.items()
}

PUBLISHES: dict[str, tuple[TopicSpec, ...]] = {
    "register": (topics.SCHOOLS, topics.PUPILS, topics.MARKS),
    "analytics": (topics.RISK_FLAGS,),
    "notification": (topics.NOTIFICATION_OUTCOMES,),
    "support": (topics.SUPPORT_CASES,),
}
CONSUMES: dict[str, tuple[TopicSpec, ...]] = {
    "analytics": (topics.SCHOOLS, topics.PUPILS, topics.MARKS),
    "notification": (topics.SCHOOLS, topics.PUPILS, topics.MARKS, topics.RISK_FLAGS, topics.SUPPORT_CASES),
    "la-returns": (topics.SCHOOLS, topics.PUPILS),
    "support": (topics.SCHOOLS, topics.PUPILS, topics.MARKS, topics.RISK_FLAGS, topics.NOTIFICATION_OUTCOMES),
}

# The record key: one school's events, or one pupil's at one school, keep their order.
SCHOOL_KEY = "The school's URN, such as `100001`: a school's events keep their order"
PUPIL_KEY = "`{URN}:{UPN}`, such as `100001:M201123424001`: one pupil's events at one school keep their order"
MARKS_KEY = (
    "A register's marks (`RegisterMarkedV1`): the school's URN, such as `100001`. An amendment, or a mark "
    "published singly: `{URN}:{UPN}`. A session's marks are ordered by their `revision`, not by where their "
    "records fall: a reader keeps the highest"
)
KEYS = {
    topics.SCHOOLS.name: SCHOOL_KEY,
    topics.PUPILS.name: PUPIL_KEY,
    topics.MARKS.name: MARKS_KEY,
    topics.RISK_FLAGS.name: PUPIL_KEY,
    topics.NOTIFICATION_OUTCOMES.name: PUPIL_KEY + " (the URN alone for a message about the school)",
    topics.SUPPORT_CASES.name: PUPIL_KEY,
}

# What personal data each topic carries (UK GDPR), for whoever decides who may subscribe.
PERSONAL_DATA = {
    topics.SCHOOLS.name: "None: schools, their calendars and registers not yet taken.",
    topics.PUPILS.name: (
        "Special and sensitive: pupils' names, dates of birth, home addresses, parents' names, e-mail "
        "addresses and phone numbers, social workers, SEN status, ethnicity, children in need and on child "
        "protection plans, looked-after status. Only services that must contact or count pupils read it; an "
        "external subscriber needs a data-sharing agreement with the schools."
    ),
    topics.MARKS.name: "Personal: each pupil's attendance code for each session, with the reason for an amendment.",
    topics.RISK_FLAGS.name: "Personal: which pupils are persistently or severely absent, long sick, and why.",
    topics.NOTIFICATION_OUTCOMES.name: (
        "Personal, limited: which pupil's parent or worker was (or could not be) told, by which channel; never "
        "the text or the address."
    ),
    topics.SUPPORT_CASES.name: (
        "Sensitive: pupils' support cases, their barriers (health, SEND, family circumstances), legal stages and "
        "penalty notices with the parent's name. No notes or chronology: those stay in support-service."
    ),
}

_SCHOOL = {"school_urn": "100001", "la_code": "201"}
_PUPIL = {**_SCHOOL, "upn": "M201123424001"}
_CASE = {"case_id": "3f1c2b0e-5d7a-4c1e-9b2f-6a8d0e4c7b11", **_PUPIL}
_ADMITTED = {
    **_PUPIL,
    "legal_surname": "Taylor",
    "legal_forename": "Sam",
    "date_of_birth": "2016-03-04",
    "year_group": "5",
    "admission_date": "2025-09-01",
    "address": {"lines": ["12 Orchard Road"], "town": "Leeds", "postcode": "LS6 2AB"},
    "contacts": [
        {"name": "Alex Taylor", "relationship": "mother", "email": "alex@example.org", "preferred_channel": "email"},
        {"name": "Jo Smith", "phone": "07700900123", "lives_with_pupil": False, "language": "pl"},
    ],
    "sen_status": "sen_support",
    "fsm_eligible": True,
}
_MARK = {**_PUPIL, "date": "2026-09-07", "session": "am", "code": "N", "revision": 1}
_FLAG = {
    **_PUPIL,
    "flag": "persistent_absence",
    "academic_year": 2026,
    "possible_sessions": 120,
    "absent_sessions": 14,
    "overall_absence_rate": 11.67,
    "as_of": "2026-11-20",
}
_CASE_CHANGE = {
    **_CASE,
    "change": 1,
    "stage": "listen_and_understand",
    "status": "open",
    "origin": "suggestion",
    "barriers": ["anxiety_or_ebsa"],
    "opened_at": "2026-11-23T10:15:00Z",
    "changed_at": "2026-11-23T10:15:00Z",
}
_NOTICE = {
    **_CASE,
    "notice_id": "0b9e1f7a-2c3d-4e5f-8a9b-1c2d3e4f5a6b",
    "issued_on": "2026-11-02",
    "period_start": "2026-11-03",
    "period_end": "2026-11-19",
    "criterion": "attendance_at_least",
    "min_attendance_percent": 95,
}
EXAMPLES: dict[type[Payload], dict[str, Any]] = {
    SchoolUpsertedV1: {"urn": "100001", "la_code": "201", "name": "Oak Lane Primary", "phase": "primary"},
    SchoolCalendarSetV1: {
        **_SCHOOL,
        "academic_year": 2026,
        "terms": [
            {
                "name": "autumn",
                "start": "2026-09-03",
                "end": "2026-12-18",
                "half_term_start": "2026-10-26",
                "half_term_end": "2026-10-30",
            }
        ],
        "closures": [{"day": "2026-11-20", "kind": "inset"}],
    },
    RegisterMissingV1: {
        **_SCHOOL,
        "date": "2026-11-16",
        "session": "am",
        "closes_at": "2026-11-16T09:00:00Z",
        "checked_at": "2026-11-16T09:30:00Z",
    },
    PupilAdmittedV1: _ADMITTED,
    PupilUpdatedV1: {**_ADMITTED, "year_group": "5", "effective_from": "2026-10-01", "eal": True},
    PupilDeletedV1: {**_PUPIL, "left_on": "2026-12-18", "ground": "b", "destination_school_name": "Elm Primary"},
    PupilRecordsRemovedV1: {**_PUPIL, "last_entry_on": "2026-07-22", "removed_on": "2032-07-23"},
    LeaveRequestedV1: {
        **_PUPIL,
        "request_id": "6c0d7e2a-1b3c-4d5e-9f8a-7b6c5d4e3f2a",
        "first_day": "2026-11-10",
        "last_day": "2026-11-10",
        "sessions": "am",
        "reason": "medical",
        "requested_by_role": "parent",
        "requested_at": "2026-11-02T18:20:00Z",
    },
    LeaveDecidedV1: {
        **_PUPIL,
        "request_id": "6c0d7e2a-1b3c-4d5e-9f8a-7b6c5d4e3f2a",
        "decision": 1,
        "outcome": "agreed",
        "reason": "medical",
        "code": "M",
        "first_day": "2026-11-10",
        "last_day": "2026-11-10",
        "sessions": [{"date": "2026-11-10", "session": "am"}],
        "decided_by_role": "staff",
        "decided_at": "2026-11-03T08:40:00Z",
    },
    PartTimeTimetableSetV1: {
        **_PUPIL,
        "timetable_id": "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d",
        "version": 1,
        "reason": "reintegration",
        "attended_sessions": ["mon_am", "tue_am", "wed_am"],
        "start_date": "2026-11-09",
        "end_date": "2026-12-18",
        "next_review_on": "2026-11-23",
        "parents_consent_on": "2026-11-05",
        "status": "active",
    },
    RegisterMarkedV1: {
        **_SCHOOL,
        "date": "2026-09-07",
        "session": "am",
        "recorded_at": "2026-09-07T08:52:11Z",
        "marks": [
            ["M201123424001", "N", 1, None, None, None],
            ["M201123424002", "/", 1, None, None, None],
            ["M201123424003", "L", 1, None, 12, None],
            ["M201123424004", "I", 2, "N", None, "mother phoned before the register closed"],
        ],
    },
    SessionMarkedV1: {**_MARK, "recorded_at": "2026-09-07T08:52:11Z"},
    MarkAmendedV1: {
        **_MARK,
        "code": "I",
        "previous_code": "N",
        "revision": 2,
        "recorded_at": "2026-09-07T10:05:00Z",
        "reason": "mother phoned: a temperature",
    },
    RiskFlagRaisedV1: _FLAG,
    RiskFlagClearedV1: {**_FLAG, "absent_sessions": 11, "overall_absence_rate": 9.17, "as_of": "2026-12-11"},
    NotificationOutcomeV1: {
        "message_id": 4711,
        "school_urn": "100001",
        "upn": "M201123424001",
        "rule": "first-day-absence",
        "about_date": "2026-09-07",
        "session": "am",
        "recipient_role": "parent",
        "contact_index": 0,
        "channel": "email",
        "outcome": "sent",
        "provider": "smtp",
        "attempts": 1,
        "occurred_at": "2026-09-07T09:01:02Z",
    },
    SupportCaseOpenedV1: _CASE_CHANGE,
    SupportCaseStageChangedV1: {
        **_CASE_CHANGE,
        "change": 2,
        "stage": "facilitate_support",
        "previous_stage": "listen_and_understand",
        "changed_at": "2026-11-30T14:00:00Z",
    },
    SupportCaseUpdatedV1: {**_CASE_CHANGE, "change": 3, "barriers": ["anxiety_or_ebsa", "transport"]},
    SupportCaseClosedV1: {
        **_CASE_CHANGE,
        "change": 4,
        "status": "closed",
        "outcome": "attendance_improved",
        "changed_at": "2027-02-12T12:00:00Z",
    },
    SupportPlanAgreedV1: {
        **_CASE,
        "plan_id": "5e4d3c2b-1a09-4f8e-9d7c-6b5a49382716",
        "version": 1,
        "target_attendance_percent": 95,
        "starts_on": "2026-12-01",
        "review_on": "2027-01-22",
        "agreed_on": "2026-11-30",
        "action_types": ["mentoring", "attendance_meeting"],
    },
    SupportPlanReviewDueV1: {
        **_CASE,
        "plan_id": "5e4d3c2b-1a09-4f8e-9d7c-6b5a49382716",
        "review_on": "2027-01-22",
    },
    NoticeToImproveIssuedV1: {**_NOTICE, "status": "running"},
    NoticeToImproveConcludedV1: {**_NOTICE, "status": "not_met"},
    PenaltyNoticeIssuedV1: {
        **_CASE,
        "notice_id": "7d6c5b4a-3928-4716-8a5b-4c3d2e1f0a9b",
        "parent_name": "Alex Taylor",
        "issued_on": "2026-12-03",
        "sessions": [{"date": "2026-11-23", "session": "am"}, {"date": "2026-11-23", "session": "pm"}],
        "lower_amount": 80,
        "full_amount": 160,
    },
    AttendanceMeetingArrangedV1: {
        **_CASE,
        "meeting_id": "2b3c4d5e-6f70-4812-9a3b-4c5d6e7f8091",
        "starts_at": "2026-12-08T15:30:00Z",
        "place": "the school office",
        "purpose": "to agree a support plan",
    },
}


def _name(model: type[Payload]) -> str:
    return model.__name__


def asyncapi_document() -> dict[str, Any]:
    """The AsyncAPI 3.0 document of every topic, from the models."""
    envelopes = [ENVELOPE_OF[EVENT_TYPE_OF[m]] for events in TOPIC_EVENTS.values() for m in events]
    refs, schemas = models_json_schema(
        [(e, "serialization") for e in envelopes], ref_template="#/components/schemas/{model}"
    )
    components_schemas = dict(schemas.get("$defs", {}))
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    specs = {t.name: t for t in topics.ALL_TOPICS}
    for topic, events in TOPIC_EVENTS.items():
        channel_id = topic.replace(".", "-")
        spec = specs[topic]
        channel_messages = {}
        for model in events:
            event_type = EVENT_TYPE_OF[model]
            envelope = ENVELOPE_OF[event_type]
            payload_ref = refs[(envelope, "serialization")]["$ref"]
            messages[_name(model)] = {
                "name": _name(model),
                "title": event_type,
                "summary": (model.__doc__ or event_type).strip().splitlines()[0],
                "contentType": "application/json",
                "headers": {"$ref": "#/components/schemas/KafkaHeaders"},
                "payload": {"$ref": payload_ref},
                "bindings": {"kafka": {"key": {"type": "string", "description": KEYS[topic]}}},
                "examples": [
                    {
                        "name": _name(model),
                        "headers": {"ce_type": event_type},
                        "payload": {
                            "specversion": "1.0",
                            "id": "0193a1f2-7c3e-7d4a-9b2c-5e6f7a8b9c0d",
                            "type": event_type,
                            "source": f"/services/{_producer(topic)}",
                            "subject": _example_key(topic, EXAMPLES[model]),
                            "time": "2026-11-23T10:15:00Z",
                            "datacontenttype": "application/json",
                            "data": EXAMPLES[model],
                        },
                    }
                ],
            }
            channel_messages[_name(model)] = {"$ref": f"#/components/messages/{_name(model)}"}
        readers = sorted(s for s, consumed in CONSUMES.items() if spec in consumed)
        channels[channel_id] = {
            "address": topic,
            "title": topic,
            "description": (
                f"Published by {_producer(topic)}-service; read by {', '.join(f'{r}-service' for r in readers)}. "
                f"Key: {KEYS[topic]}. Personal data: {PERSONAL_DATA[topic]}"
            ),
            "messages": channel_messages,
            "bindings": {
                "kafka": {
                    "topic": topic,
                    "partitions": spec.partitions,
                    "replicas": spec.replicas,
                    "topicConfiguration": {
                        "cleanup.policy": [spec.cleanup_policy],
                        "retention.ms": spec.retention_ms,
                    },
                }
            },
            "x-personal-data": PERSONAL_DATA[topic],
        }
        refs_of_channel = [{"$ref": f"#/channels/{channel_id}/messages/{_name(m)}"} for m in events]
        operations[f"{_producer(topic)}-publishes-{channel_id}"] = {
            "action": "send",
            "channel": {"$ref": f"#/channels/{channel_id}"},
            "summary": f"{_producer(topic)}-service publishes through its transactional outbox",
            "messages": refs_of_channel,
        }
        for reader in readers:
            operations[f"{reader}-reads-{channel_id}"] = {
                "action": "receive",
                "channel": {"$ref": f"#/channels/{channel_id}"},
                "summary": f"{reader}-service reads as consumer group {reader}-service, applying each event once",
                "messages": refs_of_channel,
            }
    components_schemas["KafkaHeaders"] = {
        "type": "object",
        "properties": {
            "ce_type": {"type": "string", "description": "The event's `type`, so a reader can skip without parsing"},
            "traceparent": {"type": "string", "description": "W3C trace context of the write that made the event"},
        },
        "required": ["ce_type"],
    }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "School attendance event stream",
            "version": "2.0.0",
            "description": (
                "Every event the platform publishes on Apache Kafka. Each record's value is a CloudEvents 1.0 "
                "envelope in structured JSON mode, its `data` the event; the key orders one school's or one pupil's "
                "events. Events are versioned (`.v1`): a field added later has a default, so older events still "
                "parse; a new kind of event on a topic raises this document's major version (a reader skips a "
                "`ce_type` it does not know, or parks it); anything else is a new version on a new topic. Version "
                "2: a register's marks are one `register.marked` event keyed by the school, where version 1 "
                "published a `session.marked` event a mark (still in the register's log, and still read). A "
                "record that does not validate goes to the "
                "reading service's dead-letter topic. To subscribe from outside, an operator gives the subscriber "
                "its own principal and read ACLs on the topics (and its consumer group) it may read; topics with "
                "personal data need a data-sharing agreement with the schools (deploy/README.md)."
            ),
        },
        "defaultContentType": "application/json",
        "servers": {
            "production": {
                "host": "attendance-kafka-bootstrap:9092",
                "protocol": "kafka-secure",
                "description": (
                    "The Strimzi cluster's bootstrap service inside the cluster: TLS with the cluster CA, and "
                    "SCRAM-SHA-512 as a principal whose ACLs allow what it reads"
                ),
                "security": [{"$ref": "#/components/securitySchemes/scram"}],
            }
        },
        "channels": channels,
        "operations": operations,
        "components": {
            "messages": messages,
            "schemas": components_schemas,
            "securitySchemes": {
                "scram": {
                    "type": "scramSha512",
                    "description": (
                        "A principal of the subscriber's own, with Read on the agreed topics and on a consumer "
                        'group prefixed with its name (deploy/README.md, "Giving an external subscriber access")'
                    ),
                }
            },
        },
    }


def _producer(topic: str) -> str:
    return next(service for service, published in PUBLISHES.items() if any(t.name == topic for t in published))


def _example_key(topic: str, data: dict[str, Any]) -> str:
    if KEYS[topic] == SCHOOL_KEY or "upn" not in data:
        return data.get("school_urn") or data["urn"]
    return f"{data['school_urn']}:{data['upn']}"


def render() -> str:
    return json.dumps(asyncapi_document(), indent=2, sort_keys=False) + "\n"


if __name__ == "__main__":
    sys.stdout.write(render())
