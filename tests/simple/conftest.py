import pytest

from bastion.simple import services
from bastion.simple.readpath import ReadPath
from bastion.wsgi import django_application
from tests.private_reads import private_index, read_token, upload_token  # noqa: F401 - shared fixtures
from tests.simple import factory
from tests.simple.wsgi_client import WSGIClient


@pytest.fixture(autouse=True)
def data_dirs(settings, tmp_path):
    """Each test gets its own file store and page tree."""
    settings.FILES_DIR = tmp_path / "files"
    settings.PAGES_DIR = tmp_path / "pages"
    return tmp_path


@pytest.fixture
def index(db):
    """The read path in front of Django, with a fresh page cache."""
    return WSGIClient(ReadPath(django_application))


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """Run the on-commit callbacks (pages marked stale) of the changes made inside the block."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


@pytest.fixture
def holy_grail(db, committed):
    """A project with an sdist and a wheel in 1.0, a yanked 0.9, and pages rendered (as its
    first read renders them: a change only marks them stale)."""
    with committed():
        project = factory.make_project("Holy_Grail")
        old = factory.make_release(
            project, "0.9", requires_python=">=3.8", yanked=True, yanked_reason="Had a bug"
        )
        factory.make_file(old, "holy_grail-0.9.tar.gz")
        release = factory.make_release(project, "1.0", requires_python=">=3.9")
        factory.make_file(release, "holy_grail-1.0.tar.gz")
        factory.make_file(release)
    services.refresh_project(project.normalized_name)
    services.refresh_root()
    project.refresh_from_db()
    return project
