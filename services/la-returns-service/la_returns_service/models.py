from sqlalchemy import Column, Date, DateTime, ForeignKeyConstraint, Index, Integer, Table, Text, func
from sqlalchemy.dialects.postgresql import JSONB, UUID

from attendance_shared.db import service_metadata
from attendance_shared.inbox import processed_events_table

metadata = service_metadata("la_returns")

schools = Table(
    "schools",
    metadata,
    Column("urn", Text, primary_key=True),
    Column("la_code", Text, nullable=False),
    Column("name", Text, nullable=False),
    Index("ix_schools_la_code", "la_code"),
)

pupils = Table(
    "pupils",
    metadata,
    Column("school_urn", Text, primary_key=True),
    Column("upn", Text, primary_key=True),
    Column("la_code", Text, nullable=False),
    Column("legal_surname", Text, nullable=False),
    Column("legal_forename", Text, nullable=False),
    Column("date_of_birth", Date, nullable=False),
    Column("year_group", Text, nullable=False),
    Column("admission_date", Date, nullable=False),
)

# A compiled return is an immutable snapshot: its rows never change once written.
returns = Table(
    "returns",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("la_code", Text, nullable=False),
    Column("kind", Text, nullable=False),
    Column("period_start", Date, nullable=False),
    Column("period_end", Date, nullable=False),
    Column("generated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("row_count", Integer, nullable=False),
    Column("checksum", Text, nullable=False),
    Column("columns", JSONB, nullable=False),
    Index("ix_returns_la_generated", "la_code", "generated_at", "id"),
)

return_rows = Table(
    "return_rows",
    metadata,
    Column("return_id", UUID(as_uuid=True), primary_key=True),
    Column("row_number", Integer, primary_key=True),
    Column("data", JSONB, nullable=False),
    ForeignKeyConstraint(["return_id"], ["la_returns.returns.id"]),
)

processed_events = processed_events_table(metadata)
