"""a row per enrolment: a pupil admitted again after a deletion is returned for each stay

Revision ID: 1f6b8d3e5c27
Revises: 5d1c0e2a7b90
Create Date: 2026-12-03 07:45:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "1f6b8d3e5c27"
down_revision: str | None = "5d1c0e2a7b90"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_constraint("pk_pupils", "pupils", schema="la_returns", type_="primary")
    op.create_primary_key("pk_pupils", "pupils", ["school_urn", "upn", "admission_date"], schema="la_returns")


def downgrade() -> None:
    # Keeps each pupil's latest enrolment, as the table held before.
    op.execute(
        "DELETE FROM la_returns.pupils p USING la_returns.pupils later WHERE later.school_urn = p.school_urn"
        " AND later.upn = p.upn AND later.admission_date > p.admission_date"
    )
    op.drop_constraint("pk_pupils", "pupils", schema="la_returns", type_="primary")
    op.create_primary_key("pk_pupils", "pupils", ["school_urn", "upn"], schema="la_returns")
