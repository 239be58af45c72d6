"""Alembic helpers: every service's env.py calls `run_migrations`, and the local stack and
the migration job call `upgrade_to_head`. Migrations, never create_all, also in tests."""

import argparse
import asyncio
import importlib
from pathlib import Path

from alembic import command, context
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import MetaData, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from attendance_shared.settings import CommonSettings


def alembic_config(migrations_dir: Path, database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(migrations_dir))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    config.set_main_option("file_template", "%%(year)d_%%(month).2d_%%(day).2d_%%(hour).2d%%(minute).2d-%%(slug)s")
    return config


def migration_head(service: str) -> str | None:
    """The revision the service's code expects the database to be at."""
    return ScriptDirectory.from_config(alembic_config(migrations_dir(service), "postgresql://")).get_current_head()


def upgrade_to_head(migrations_dir: Path, database_url: str) -> None:
    command.upgrade(alembic_config(migrations_dir, database_url), "head")


def run_migrations(metadata: MetaData) -> None:
    """Body of a service's env.py: its own schema holds its tables and its version table."""
    schema = metadata.schema
    assert schema, "service metadata must name its schema"
    url = context.config.get_main_option("sqlalchemy.url")

    def do_run(connection: Connection) -> None:
        connection.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
        context.configure(
            connection=connection,
            target_metadata=metadata,
            version_table_schema=schema,
            include_schemas=True,
            include_name=lambda name, type_, _: type_ != "schema" or name == schema,
        )
        with context.begin_transaction():
            context.run_migrations()

    async def run_async() -> None:
        engine = create_async_engine(url)
        async with engine.begin() as connection:
            await connection.run_sync(do_run)
        await engine.dispose()

    asyncio.run(run_async())


SERVICE_PACKAGES = {
    "register": "register_service",
    "analytics": "analytics_service",
    "notification": "notification_service",
    "la-returns": "la_returns_service",
    "support": "support_service",
}


def migrations_dir(service: str) -> Path:
    """A service's Alembic folder sits beside its package: services/<name>-service/migrations."""
    package = importlib.import_module(SERVICE_PACKAGES[service])
    return Path(package.__file__).resolve().parent.parent / "migrations"  # type: ignore[arg-type]


def main() -> None:
    """`python -m attendance_shared.migrations SERVICE...`: upgrade each service's schema to head."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("services", nargs="+", choices=sorted(SERVICE_PACKAGES))
    args = parser.parse_args()
    database_url = CommonSettings().database_url
    for service in args.services:
        upgrade_to_head(migrations_dir(service), database_url)
        print(f"{service}: migrated to head")


if __name__ == "__main__":
    main()
