from tests.manage.conftest import world  # noqa: F401 - a shared fixture
from tests.mfa.conftest import authenticator, enrol_key  # noqa: F401 - shared fixtures
