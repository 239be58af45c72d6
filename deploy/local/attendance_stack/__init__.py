"""The local stack, started the same way by `make run` and by the end-to-end tests."""

from attendance_stack.stack import LocalStack, StackConfig

__all__ = ["LocalStack", "StackConfig"]
