"""Common library of the attendance platform. Every rule lives here once; services import it."""
