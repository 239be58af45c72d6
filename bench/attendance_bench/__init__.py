"""`make bench`: the project's own measurements, written as JSON, never asserted in tests."""
