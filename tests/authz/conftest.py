"""Fixtures the gate tests share with the factor tests."""

from tests.mfa.conftest import authenticator, enrol_key  # noqa: F401 - shared fixtures
