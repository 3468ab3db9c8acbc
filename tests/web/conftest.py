from tests.manage.conftest import world  # noqa: F401 - a shared fixture
