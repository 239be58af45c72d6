"""A service is ready, and starts its relay and consumers, only once its database schema is at
the code's migration head: a pod that starts before its migration Job has finished takes no
traffic and no events, and carries on by itself once the migration is done."""

import asyncio
import gc
import uuid

import pytest
from prometheus_client import REGISTRY
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from attendance_shared.auth import Role
from attendance_shared.migrations import migrations_dir, upgrade_to_head
from attendance_shared.platform import GC_THRESHOLDS
from register_service.app import create_app
from register_service.settings import Settings
from tests.factories import school_body
from tests.helpers import app_client, bearer, eventually

pytestmark = pytest.mark.integration


async def test_ready_at_head_and_not_before_the_migration(postgres_server_url: str, database_url: str) -> None:
    async with app_client(
        create_app(Settings(database_url=database_url, kafka_bootstrap_servers="127.0.0.1:1")), {}
    ) as client:
        checks = (await client.get("/readyz")).json()["checks"]
        assert checks["schema"] == "at head"

    name = f"unmigrated_{uuid.uuid4().hex[:8]}"
    admin = create_async_engine(postgres_server_url, isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.exec_driver_sql(f"CREATE DATABASE {name}")
    empty = make_url(postgres_server_url).set(database=name).render_as_string(hide_password=False)
    try:
        settings = Settings(database_url=empty, kafka_bootstrap_servers="127.0.0.1:1")
        app = create_app(settings)
        async with app_client(app, bearer(Role.ADMIN)) as client:
            response = await client.get("/readyz")
            assert response.status_code == 503
            assert response.json()["checks"]["schema"].startswith("not migrated")
            assert app.state.workers.tasks == {}  # no relay runs against a schema it does not know

            await asyncio.to_thread(upgrade_to_head, migrations_dir("register"), empty)

            async def migrated() -> None:
                assert (await client.get("/readyz")).json()["checks"]["schema"] == "at head"
                assert "outbox-relay" in app.state.workers.tasks

            await eventually(migrated, timeout_s=15)
    finally:
        async with admin.connect() as conn:
            await conn.exec_driver_sql(f"DROP DATABASE {name} WITH (FORCE)")
        await admin.dispose()


async def test_the_start_up_heap_is_frozen_before_the_first_request(database_url: str) -> None:
    """Full garbage collections under load must not walk the modules and models built at start-up."""
    gc.unfreeze()
    gc.set_threshold(700, 10, 10)
    async with app_client(
        create_app(Settings(database_url=database_url, kafka_bootstrap_servers="127.0.0.1:1")), {}
    ) as client:
        assert gc.get_freeze_count() > 50_000
        assert gc.get_threshold() == GC_THRESHOLDS
        assert (await client.get("/healthz")).status_code == 200


async def test_every_request_is_timed_by_its_route_template_and_status(database_url: str) -> None:
    def timed(method: str, route: str, status: int) -> float:
        labels = {"service": "register", "method": method, "route": route, "status": str(status)}
        return REGISTRY.get_sample_value("http_request_seconds_count", labels) or 0.0

    school = "/v1/schools/{urn}"
    expected = [("GET", school, 404), ("PUT", school, 422), ("PUT", school, 200), ("GET", "unmatched", 404)]
    before = [timed(*e) for e in expected]
    settings = Settings(database_url=database_url, kafka_bootstrap_servers="127.0.0.1:1")
    async with app_client(create_app(settings), bearer(Role.ADMIN)) as client:
        assert (await client.get("/v1/schools/100901")).status_code == 404
        assert (await client.put("/v1/schools/100901", json={})).status_code == 422
        assert (await client.put("/v1/schools/100901", json=school_body())).status_code == 200
        assert (await client.get("/v1/nowhere")).status_code == 404
    assert [timed(*e) - b for e, b in zip(expected, before, strict=True)] == [1.0] * 4
