from attendance_shared.migrations import run_migrations
from support_service.models import metadata

run_migrations(metadata)
