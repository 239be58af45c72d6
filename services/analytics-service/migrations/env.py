from analytics_service.models import metadata
from attendance_shared.migrations import run_migrations

run_migrations(metadata)
