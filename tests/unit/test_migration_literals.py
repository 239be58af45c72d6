"""Migrations write some values as literals, since they must not import code that changes
later; these tests pin each literal to the code it copied, as it stands."""

import importlib.util
from pathlib import Path

from analytics_service.domain.encoding import BYTE_OF_CODE

ANALYTICS_MIGRATIONS = Path(__file__).parents[2] / "services/analytics-service/migrations/versions"


def _migration(name: str):
    spec = importlib.util.spec_from_file_location(name, ANALYTICS_MIGRATIONS / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_unexplained_backfill_counts_the_byte_n_is_stored_as() -> None:
    # The stored byte table only ever grows at its end, so N's byte cannot move; if it did,
    # the backfill of `pupil_years.unexplained` would have counted another code.
    assert BYTE_OF_CODE["N"] == _migration("2026_12_03_0800-unexplained_sessions_of_a_year").N_BYTE
