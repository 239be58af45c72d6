"""pupil versions carry the DfE's cohort fields, the birth date and boarding: figures split by
ethnicity, previously looked after, child in need, child protection plan and registration group,
and counted over the DfE's statistics population (compulsory school age, boarders excluded)

Revision ID: 4c7a2e9b1d58
Revises: 2a9d6f1c8e43
Create Date: 2026-12-03 11:00:00

Versions stored before this have none of these: a rebuild from the register's events fills them.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "4c7a2e9b1d58"
down_revision: str | None = "2a9d6f1c8e43"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FLAGS = ("previously_looked_after", "child_in_need", "child_protection_plan", "boarder")


def upgrade() -> None:
    op.add_column("pupil_versions", sa.Column("ethnicity", sa.Text(), nullable=True), schema="analytics")
    for name in FLAGS:
        op.add_column(
            "pupil_versions",
            sa.Column(name, sa.Boolean(), server_default="false", nullable=False),
            schema="analytics",
        )
    op.add_column("pupil_versions", sa.Column("registration_group", sa.Text(), nullable=True), schema="analytics")
    op.add_column("pupil_versions", sa.Column("date_of_birth", sa.Date(), nullable=True), schema="analytics")


def downgrade() -> None:
    for name in ("ethnicity", *FLAGS, "registration_group", "date_of_birth"):
        op.drop_column("pupil_versions", name, schema="analytics")
