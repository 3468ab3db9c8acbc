from tests.manage.conftest import world  # noqa: F401 - a shared fixture
from tests.mfa.conftest import authenticator, enrol_key  # noqa: F401 - shared fixtures
from tests.private_reads import private_index, read_token, upload_token  # noqa: F401 - shared fixtures
