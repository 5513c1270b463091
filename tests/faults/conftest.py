"""The fault tests use the real servers of tests/fixtures/ (registered in tests/conftest.py)."""
