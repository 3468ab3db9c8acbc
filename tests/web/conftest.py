from tests.manage.conftest import make_project, world  # noqa: F401 - shared fixtures
from tests.mfa.conftest import (  # noqa: F401 - shared fixtures; sign-in tests fill the limits
    authenticator,
    enrol_key,
    fresh_rate_limits,
)
