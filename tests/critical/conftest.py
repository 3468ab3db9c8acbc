"""The critical app's tests build their world with :mod:`tests.factories` (``make_project``,
``designate`` and ``enrol_totp`` are fixtures in ``tests/conftest.py``)."""
