"""the cohort fields of the DfE's daily collection: ethnicity, previously looked after, child in
need, child protection plan, registration group and expected leaving date

Revision ID: 2b8e4f6a9c13
Revises: 7c3d9a1e5b20
Create Date: 2026-12-03 11:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "2b8e4f6a9c13"
down_revision: str | None = "7c3d9a1e5b20"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FLAGS = ("previously_looked_after", "child_in_need", "child_protection_plan")


def upgrade() -> None:
    op.add_column("pupils", sa.Column("ethnicity", sa.Text(), nullable=True), schema="register")
    for name in FLAGS:
        op.add_column(
            "pupils", sa.Column(name, sa.Boolean(), server_default="false", nullable=False), schema="register"
        )
    op.add_column("pupils", sa.Column("registration_group", sa.Text(), nullable=True), schema="register")
    op.add_column("pupils", sa.Column("expected_leaving_date", sa.Date(), nullable=True), schema="register")


def downgrade() -> None:
    for name in ("ethnicity", *FLAGS, "registration_group", "expected_leaving_date"):
        op.drop_column("pupils", name, schema="register")
