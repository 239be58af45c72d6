"""Tables of the register service. Register entries are never updated in place or deleted:
an amendment is a new row with a higher revision that names the code it replaces."""

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKeyConstraint,
    Index,
    Integer,
    Table,
    Text,
    Time,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB

from attendance_shared.db import service_metadata
from attendance_shared.outbox import outbox_table

metadata = service_metadata("register")

schools = Table(
    "schools",
    metadata,
    Column("urn", Text, primary_key=True),
    Column("la_code", Text, nullable=False),
    Column("establishment_number", Text),
    Column("name", Text, nullable=False),
    Column("am_register_closes", Time, nullable=False),
    Column("pm_register_closes", Time, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Index("ix_schools_la_code", "la_code"),
)

pupils = Table(
    "pupils",
    metadata,
    Column("school_urn", Text, primary_key=True),
    Column("upn", Text, primary_key=True),
    Column("legal_surname", Text, nullable=False),
    Column("legal_forename", Text, nullable=False),
    Column("date_of_birth", Date, nullable=False),
    Column("year_group", Text, nullable=False),
    Column("admission_date", Date, nullable=False),
    Column("left_on", Date),
    Column("contacts", JSONB, nullable=False, server_default="[]"),
    Column("social_worker", JSONB),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    ForeignKeyConstraint(["school_urn"], ["register.schools.urn"]),
)

marks = Table(
    "marks",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("school_urn", Text, nullable=False),
    Column("upn", Text, nullable=False),
    Column("date", Date, nullable=False),
    Column("session", Text, nullable=False),
    Column("code", Text, nullable=False),
    Column("revision", Integer, nullable=False),
    Column("previous_code", Text),
    Column("reason", Text),
    Column("recorded_by", Text, nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    CheckConstraint("session IN ('am', 'pm')", name="session_am_pm"),
    CheckConstraint("revision >= 1", name="revision_positive"),
    UniqueConstraint("school_urn", "date", "session", "upn", "revision"),
    ForeignKeyConstraint(["school_urn", "upn"], ["register.pupils.school_urn", "register.pupils.upn"]),
    Index("ix_marks_pupil_date", "school_urn", "upn", "date"),
)

outbox = outbox_table(metadata)
