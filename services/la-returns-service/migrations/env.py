from attendance_shared.migrations import run_migrations
from la_returns_service.models import metadata

run_migrations(metadata)
