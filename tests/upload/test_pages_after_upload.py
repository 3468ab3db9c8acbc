"""An upload renders no page in its request, and every page read right after it is current.

The pages (the project's, the project list, the JSON API) are rendered by the first read after a
change (issue 18: rendering them after the commit was about a third of an upload's server time),
so these tests count renders during the upload and check what the next reads serve.
"""

import pytest
from pypi_simple import ProjectPage

from bastion.packaging.models import Project
from bastion.packaging.services import last_serial
from bastion.simple import jsonapi, render
from bastion.simple.readpath import ReadPath
from bastion.wsgi import django_application
from tests.simple.wsgi_client import WSGIClient
from tests.upload import dists

pytestmark = pytest.mark.django_db

JSON = "application/vnd.pypi.simple.v1+json"


@pytest.fixture(autouse=True)
def pages_dir(settings, tmp_path):
    settings.PAGES_DIR = tmp_path / "pages"


@pytest.fixture
def renders(monkeypatch) -> list[str]:
    """Every page rendered from now on: a project's, a block of the list, a JSON API document."""
    noted: list[str] = []
    for module, function, note in (
        (render, "project_document", "project"),
        (render, "root_entries_html", "list"),
        (render, "root_entries_json", "list"),
        (jsonapi, "document", "json api"),
    ):
        monkeypatch.setattr(module, function, _noting(getattr(module, function), noted, note))
    return noted


def _noting(function, noted: list[str], note: str):
    def call_and_note(*args, **kwargs):
        noted.append(note)
        return function(*args, **kwargs)

    return call_and_note


@pytest.fixture
def upload(uploader, django_capture_on_commit_callbacks):
    """Upload ``dist`` as twine does, running what follows the commit as a server would."""

    def post(dist: dists.Dist) -> None:
        with django_capture_on_commit_callbacks(execute=True):
            response = uploader.upload(dist.form())
        assert response.status_code == 200, response.reason_phrase

    return post


@pytest.fixture
def index() -> WSGIClient:
    """The read path in front of Django, as the server runs it."""
    return WSGIClient(ReadPath(django_application))


def test_uploads_render_nothing_and_the_next_reads_are_current(upload, index, renders):
    upload(dists.wheel("holy-grail", "1.0"))
    assert _project_files(index, "holy-grail") == {"holy_grail-1.0-py3-none-any.whl"}
    assert _listed(index) == ["holy-grail"]
    renders.clear()

    for dist in (
        dists.sdist("holy-grail", "1.0"),
        dists.wheel("holy-grail", "1.1"),
        dists.wheel("an-early-name", "0.1"),
    ):
        upload(dist)
    assert renders == []  # three uploads, nothing rendered until someone reads

    assert _project_files(index, "holy-grail") == {
        "holy_grail-1.0-py3-none-any.whl",
        "holy_grail-1.0.tar.gz",
        "holy_grail-1.1-py3-none-any.whl",
    }
    assert _listed(index) == ["an-early-name", "holy-grail"]
    document = index.get("/pypi/holy-grail/json").json()
    assert document["info"]["version"] == "1.1"
    assert sorted(document["releases"]) == ["1.0", "1.1"]
    assert [url["filename"] for url in document["urls"]] == ["holy_grail-1.1-py3-none-any.whl"]
    assert document["last_serial"] == Project.objects.get(name="holy-grail").last_serial
    assert renders.count("project") == 1  # both formats of the project page from one render


def test_the_page_read_between_two_uploads_is_not_kept_after_the_second(upload, index):
    upload(dists.wheel("holy-grail", "1.0"))
    before = index.get("/simple/holy-grail/", accept=JSON)
    root_before = index.get("/simple/", accept=JSON)
    upload(dists.wheel("holy-grail", "2.0"))
    after = index.get("/simple/holy-grail/", accept=JSON)
    assert after.json()["versions"] == ["1.0", "2.0"]
    assert after.header("ETag") != before.header("ETag")
    assert index.get("/simple/", accept=JSON).header("ETag") != root_before.header("ETag")
    assert index.get("/pypi/holy-grail/json").json()["info"]["version"] == "2.0"


def _project_files(index: WSGIClient, name: str) -> set[str]:
    """The files the project page lists, checked to agree in HTML and JSON and to carry the
    serial the database has now."""
    json_page = index.get(f"/simple/{name}/", accept=JSON)
    html_page = index.get(f"/simple/{name}/", accept="text/html")
    assert json_page.status == html_page.status == 200
    html = ProjectPage.from_html(name, html_page.body.decode())
    json_files = {entry["filename"] for entry in json_page.json()["files"]}
    assert json_files == {package.filename for package in html.packages}
    serial = json_page.json()["meta"]["_last-serial"]
    assert html_page.header("X-PyPI-Last-Serial") == str(serial)
    return json_files


def _listed(index: WSGIClient) -> list[str]:
    """The normalized names of ``/simple/``, in both formats, at the database's serial."""
    json_page = index.get("/simple/", accept=JSON)
    html_page = index.get("/simple/", accept="text/html")
    assert json_page.json()["meta"]["_last-serial"] == last_serial()
    assert html_page.header("X-PyPI-Last-Serial") == str(last_serial())
    names = [project["name"] for project in json_page.json()["projects"]]
    assert all(f'href="/simple/{name}/"' in html_page.body.decode() for name in names)
    return names
