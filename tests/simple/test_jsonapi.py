"""PyPI's JSON API: shapes, the latest release, canonical versions, redirects and 404s."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from bastion.packaging.models import ProjectStatus, RoleName
from bastion.packaging.services import journal
from bastion.simple import jsonapi, services
from bastion.simple.pagecache import PageCache
from tests.simple import factory


@pytest.fixture
def spam(db, make_user):
    project = factory.make_project("Spam_Eggs")
    stable = factory.make_release(
        project,
        "1.0",
        summary="Spam, eggs",
        requires_python=">=3.9",
        requires_dist=["bacon>=1; extra == 'breakfast'"],
        provides_extra=["breakfast"],
        project_urls={"Source": "https://example.com/spam"},
        classifiers=["Programming Language :: Python :: 3"],
    )
    factory.make_file(stable, "spam_eggs-1.0.tar.gz")
    factory.make_file(stable)
    factory.make_file(factory.make_release(project, "2.0b1"))
    factory.make_file(factory.make_release(project, "3.0", yanked=True, yanked_reason="oops"))
    factory.add_role(project, make_user("zed"), RoleName.MAINTAINER)
    factory.add_role(project, make_user("anne"), RoleName.OWNER)
    project.refresh_from_db()
    return project


def test_project_json_describes_the_latest_release(client, spam, settings):
    response = client.get("/pypi/spam-eggs/json")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response["X-PyPI-Last-Serial"] == str(spam.last_serial)
    data = response.json()
    assert set(data) == {"info", "last_serial", "releases", "urls", "vulnerabilities", "ownership"}
    info = data["info"]
    assert info["name"] == "Spam_Eggs"
    assert info["version"] == "1.0"  # 3.0 is yanked, 2.0b1 is a pre-release
    assert info["summary"] == "Spam, eggs"
    assert info["requires_python"] == ">=3.9"
    assert info["requires_dist"] == ["bacon>=1; extra == 'breakfast'"]
    assert info["provides_extra"] == ["breakfast"]
    assert info["project_urls"] == {"Source": "https://example.com/spam"}
    assert info["classifiers"] == ["Programming Language :: Python :: 3"]
    assert info["project_url"] == f"{settings.BASE_URL}/project/spam-eggs/"
    assert info["package_url"] == info["project_url"]
    assert info["release_url"] == f"{settings.BASE_URL}/project/spam-eggs/1.0/"
    assert info["yanked"] is False and info["yanked_reason"] is None
    assert info["bugtrack_url"] is None
    assert info["downloads"] == {"last_day": -1, "last_week": -1, "last_month": -1}
    assert data["last_serial"] == spam.last_serial
    assert data["vulnerabilities"] == []
    assert data["ownership"] == {
        "roles": [{"role": "Owner", "user": "anne"}, {"role": "Maintainer", "user": "zed"}],
        "organization": None,
    }
    assert list(data["releases"]) == ["1.0", "2.0b1", "3.0"]
    assert data["releases"]["3.0"][0]["yanked_reason"] == "oops"
    assert {f["filename"] for f in data["urls"]} == {
        "spam_eggs-1.0.tar.gz",
        "spam_eggs-1.0-py3-none-any.whl",
    }


def test_file_objects_have_pypi_fields(client, spam, settings):
    urls = client.get("/pypi/spam-eggs/1.0/json").json()["urls"]
    wheel = next(f for f in urls if f["filename"].endswith(".whl"))
    stored = spam.releases.get(version="1.0").files.get(filename=wheel["filename"])
    assert wheel["url"] == f"{settings.BASE_URL}/files/{stored.path}"
    assert wheel["packagetype"] == "bdist_wheel"
    assert wheel["python_version"] == "py3"
    assert wheel["requires_python"] == ">=3.9"
    assert wheel["size"] == stored.size
    assert wheel["digests"] == {
        "md5": stored.md5_digest,
        "sha256": stored.sha256_digest,
        "blake2b_256": stored.blake2_256_digest,
    }
    assert wheel["md5_digest"] == stored.md5_digest
    assert wheel["upload_time"] == stored.upload_time.strftime("%Y-%m-%dT%H:%M:%S")
    assert wheel["upload_time_iso_8601"].endswith("Z")
    assert wheel["core-metadata"] == {"sha256": stored.metadata_sha256_digest}
    assert wheel["yanked"] is False and wheel["has_sig"] is False and wheel["downloads"] == -1
    sdist = next(f for f in urls if f["filename"].endswith(".tar.gz"))
    assert sdist["packagetype"] == "sdist" and sdist["core-metadata"] is False


@pytest.mark.parametrize("url", ["/pypi/spam-eggs/1.0.0/json", "/pypi/spam-eggs/1.0/json/"])
def test_version_route_matches_canonical_version(client, spam, url):
    data = client.get(url).json()
    assert data["info"]["version"] == "1.0"
    assert "releases" not in data


def test_version_route_serves_yanked_releases(client, spam):
    info = client.get("/pypi/spam-eggs/3.0/json").json()["info"]
    assert info["yanked"] is True and info["yanked_reason"] == "oops"


@pytest.mark.parametrize(
    ("versions", "yanked", "latest"),
    [
        (["1.0", "1.1rc1"], set(), "1.0"),
        (["0.9", "1.0"], {"1.0"}, "0.9"),
        (["2.0b1"], set(), "2.0b1"),
        (["1.0", "2.0.dev1", "1.5"], set(), "1.5"),
        (["1.0", "2.0"], {"1.0", "2.0"}, "2.0"),
        (["1.0", "1.10", "1.9"], set(), "1.10"),
    ],
)
def test_latest_release_choice(client, db, versions, yanked, latest):
    project = factory.make_project("choice")
    for version in versions:
        factory.make_release(project, version, yanked=version in yanked)
    assert client.get("/pypi/choice/json").json()["info"]["version"] == latest


@pytest.mark.parametrize(
    ("url", "location"),
    [
        ("/pypi/Spam_Eggs/json", "/pypi/spam-eggs/json"),
        ("/pypi/Spam.Eggs/json/", "/pypi/spam-eggs/json"),
        ("/pypi/Spam_Eggs/1.0/json", "/pypi/spam-eggs/1.0/json"),
    ],
)
def test_unnormalized_names_redirect(client, spam, url, location):
    response = client.get(url)
    assert response.status_code == 301
    assert response["Location"] == location


def test_unknown_things_are_404(client, spam):
    factory.make_project("norelease")
    quarantined = factory.make_project("bad", status=ProjectStatus.QUARANTINED)
    factory.make_file(factory.make_release(quarantined, "1.0"))
    for url in [
        "/pypi/unknown/json",
        "/pypi/spam-eggs/9.9/json",
        "/pypi/spam-eggs/not-a-version/json",
        "/pypi/norelease/json",
        "/pypi/bad/json",
        "/pypi/bad/1.0/json",
    ]:
        response = client.get(url)
        assert response.status_code == 404, url
        assert response.json() == {"message": "Not Found"}


def test_etag_revalidation(client, spam):
    etag = client.get("/pypi/spam-eggs/json")["ETag"]
    assert client.get("/pypi/spam-eggs/json", HTTP_IF_NONE_MATCH=etag).status_code == 304


def test_json_api_only_reads(client, spam):
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/pypi/spam-eggs/json").status_code == 200
    statements = [q["sql"].lstrip().split()[0].upper() for q in queries.captured_queries]
    assert statements and set(statements) <= {"SELECT"}


@pytest.fixture
def renders(monkeypatch):
    """The JSON API documents rendered from now on, as (name, version)."""
    rendered = []
    real_document = jsonapi.document

    def document(normalized_name, version=None):
        rendered.append((normalized_name, version))
        return real_document(normalized_name, version)

    monkeypatch.setattr(jsonapi, "document", document)
    return rendered


def test_an_unchanged_project_is_rendered_once_then_served_stored(
    client, spam, renders, monkeypatch
):
    first = client.get("/pypi/spam-eggs/json")
    monkeypatch.setattr(jsonapi, "_memory", PageCache())  # another process: it reads the file
    for _ in range(2):
        again = client.get("/pypi/spam-eggs/json")
        assert (again.content, again["ETag"]) == (first.content, first["ETag"])
    client.get("/pypi/spam-eggs/1.0/json")
    client.get("/pypi/spam-eggs/1/json")  # the same canonical version
    assert renders == [("spam-eggs", None), ("spam-eggs", "1.0")]


def test_a_change_is_served_at_once(client, spam, renders):
    before = client.get("/pypi/spam-eggs/json").json()
    client.get("/pypi/spam-eggs/1.0/json")
    release = spam.releases.get(version="1.0")
    release.yanked = True
    release.save()
    journal(spam, "yank", version="1.0")
    after = client.get("/pypi/spam-eggs/json").json()
    assert after["last_serial"] == spam.last_serial > before["last_serial"]
    assert after["releases"]["1.0"][0]["yanked"] is True
    assert client.get("/pypi/spam-eggs/1.0/json").json()["info"]["yanked"] is True
    assert len(renders) == 4
    stored = list((services.pages_root().parent / "pypi" / "spam-eggs").rglob("*.json"))
    assert len(stored) == 2  # the documents of the older serial are gone
