from sqlalchemy import BigInteger, Column, Date, DateTime, Index, Integer, Table, Text, func
from sqlalchemy.dialects.postgresql import JSONB

from attendance_shared.db import service_metadata
from attendance_shared.inbox import processed_events_table

metadata = service_metadata("notification")

# Who to contact about each pupil, projected from the register's pupil events.
pupil_contacts = Table(
    "pupil_contacts",
    metadata,
    Column("school_urn", Text, primary_key=True),
    Column("upn", Text, primary_key=True),
    Column("la_code", Text, nullable=False),
    Column("forename", Text, nullable=False),
    Column("contacts", JSONB, nullable=False),
    Column("social_worker", JSONB),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

# Every message is stored before it is sent; the idempotency key (rule, pupil, date and
# recipient) makes a redelivered event or a restart unable to send it twice.
messages = Table(
    "messages",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("idempotency_key", Text, nullable=False, unique=True),
    Column("school_urn", Text, nullable=False),
    Column("upn", Text, nullable=False),
    Column("rule", Text, nullable=False),
    Column("about_date", Date, nullable=False),
    Column("channel", Text, nullable=False),
    Column("recipient", Text),
    Column("recipient_role", Text, nullable=False),
    Column("body", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("failure_reason", Text),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("sent_at", DateTime(timezone=True)),
    Index("ix_messages_school_upn", "school_urn", "upn", "id"),
    Index("ix_messages_queued", "id", postgresql_where="status = 'queued'"),
)

processed_events = processed_events_table(metadata)
