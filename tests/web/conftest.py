from tests.manage.conftest import make_project, world  # noqa: F401 - shared fixtures
