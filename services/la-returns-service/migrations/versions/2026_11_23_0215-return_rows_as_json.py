"""return rows as json: written once, read back whole

Revision ID: a0ee1d91429b
Revises: cd035b16bba1
Create Date: 2026-11-23 02:15:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "a0ee1d91429b"
down_revision: str | None = "cd035b16bba1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.alter_column(
        "return_rows",
        "data",
        type_=sa.JSON(),
        existing_type=postgresql.JSONB(),
        existing_nullable=False,
        postgresql_using="data::json",
        schema="la_returns",
    )


def downgrade() -> None:
    op.alter_column(
        "return_rows",
        "data",
        type_=postgresql.JSONB(),
        existing_type=sa.JSON(),
        existing_nullable=False,
        postgresql_using="data::jsonb",
        schema="la_returns",
    )
