"""marks are checked against the roll by the register, not by a foreign key row by row

Revision ID: 3b8e5f0c2a41
Revises: 6fc74536771d
Create Date: 2026-11-23 07:15:00

A foreign key runs a lookup and takes a row lock on the pupil for every mark copied in:
about a third of the cost of storing a mark. The register already reads each pupil's row,
on roll on that day, in the transaction that stores the marks, so the key only guarded
against a pupil row disappearing, and admission register entries are never deleted. That is
now a rule of its own, enforced once per statement.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "3b8e5f0c2a41"
down_revision: str | None = "6fc74536771d"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_constraint("fk_marks_school_urn_pupils", "marks", schema="register", type_="foreignkey")
    op.execute(
        """
        CREATE FUNCTION register.refuse_to_delete_pupils() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'admission register entries are kept: a pupil who leaves is recorded '
                'with left_on, never deleted'
                USING ERRCODE = 'restrict_violation';
        END
        $$
        """
    )
    for event in ("DELETE", "TRUNCATE"):
        op.execute(
            f"CREATE TRIGGER pupils_are_never_{event.lower()}d BEFORE {event} ON register.pupils "
            "FOR EACH STATEMENT EXECUTE FUNCTION register.refuse_to_delete_pupils()"
        )


def downgrade() -> None:
    for event in ("DELETE", "TRUNCATE"):
        op.execute(f"DROP TRIGGER pupils_are_never_{event.lower()}d ON register.pupils")
    op.execute("DROP FUNCTION register.refuse_to_delete_pupils()")
    op.create_foreign_key(
        "fk_marks_school_urn_pupils",
        "marks",
        "pupils",
        ["school_urn", "upn"],
        ["school_urn", "upn"],
        source_schema="register",
        referent_schema="register",
    )
