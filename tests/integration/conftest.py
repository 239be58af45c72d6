# The notification tests' fixtures live with the parts they start.
from tests.integration.notification_parts import parts, sessionmaker  # noqa: F401
