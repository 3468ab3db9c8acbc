from tests.manage.conftest import make_project, world  # noqa: F401 - shared fixtures
from tests.mfa.conftest import authenticator, enrol_key  # noqa: F401 - shared fixtures
