"""The critical app's tests build their world with :mod:`tests.factories` (``make_project``,
``designate`` and ``enrol_totp`` are fixtures in ``tests/conftest.py``)."""

from tests.publishing.conftest import ci, exchange  # noqa: F401 - shared fixtures
