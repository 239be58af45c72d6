from attendance_shared.migrations import run_migrations
from notification_service.models import metadata

run_migrations(metadata)
