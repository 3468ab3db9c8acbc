"""Serving distributions and ``.metadata``: bytes, ranges, caching headers, and refusals."""

import hashlib

import pytest

from bastion.simple.files import _byte_range, _Unsatisfiable
from tests.simple import factory

CONTENT = bytes(range(256)) * 8  # 2048 bytes, every byte value


@pytest.fixture
def wheel(db, committed):
    with committed():
        project = factory.make_project("ranges")
        release = factory.make_release(project, "1.0", requires_python=">=3.9")
        return factory.make_file(release, content=CONTENT)


@pytest.fixture
def url(wheel):
    return f"/files/{wheel.path}"


def test_get_serves_the_stored_bytes_with_immutable_caching(index, wheel, url):
    answer = index.get(url)
    assert answer.status == 200
    assert answer.body == CONTENT
    assert answer.header("Content-Type") == "application/zip"
    assert answer.header("Content-Length") == str(len(CONTENT))
    assert answer.header("Accept-Ranges") == "bytes"
    assert answer.header("Cache-Control") == "public, max-age=31536000, immutable"
    assert answer.header("ETag") == f'"{wheel.blake2_256_digest}"'
    assert answer.header("Last-Modified")


def test_page_link_leads_to_the_file_with_the_advertised_hash(index, wheel):
    entry = index.get("/simple/ranges/", accept="application/vnd.pypi.simple.v1+json").json()
    body = index.get(entry["files"][0]["url"]).body
    assert hashlib.sha256(body).hexdigest() == entry["files"][0]["hashes"]["sha256"]


def test_head_has_the_headers_and_no_body(index, url):
    answer = index.head(url)
    assert answer.status == 200
    assert answer.body == b""
    assert answer.header("Content-Length") == str(len(CONTENT))
    assert answer.header("Accept-Ranges") == "bytes"


def test_sdist_content_type_is_not_a_content_encoding(db, index, committed):
    with committed():
        release = factory.make_release(factory.make_project("sd"), "1.0")
        sdist = factory.make_file(release, "sd-1.0.tar.gz")
    answer = index.get(f"/files/{sdist.path}")
    assert answer.header("Content-Type") == "application/gzip"
    assert answer.header("Content-Encoding") is None


@pytest.mark.parametrize(
    ("header", "start", "end"),
    [
        ("bytes=0-9", 0, 9),
        ("bytes=100-", 100, 2047),
        ("bytes=-22", 2026, 2047),  # uv reads a wheel's central directory from the end
        ("bytes=2000-99999", 2000, 2047),
        ("bytes=-99999", 0, 2047),
        ("bytes=2047-2047", 2047, 2047),
    ],
)
def test_single_range_gives_206(index, url, header, start, end):
    answer = index.get(url, range=header)
    assert answer.status == 206
    assert answer.body == CONTENT[start : end + 1]
    assert answer.header("Content-Range") == f"bytes {start}-{end}/{len(CONTENT)}"
    assert answer.header("Content-Length") == str(end - start + 1)


@pytest.mark.parametrize("header", ["bytes=2048-", "bytes=5000-6000", "bytes=-0"])
def test_unsatisfiable_range_gives_416(index, url, header):
    answer = index.get(url, range=header)
    assert answer.status == 416
    assert answer.header("Content-Range") == f"bytes */{len(CONTENT)}"


@pytest.mark.parametrize(
    "header", ["bytes=0-1,5-6", "bytes=9-2", "items=0-1", "bytes=x-y", "bytes=-", "bytes=²-3"]
)
def test_multiple_or_malformed_ranges_get_the_whole_file(index, url, header):
    answer = index.get(url, range=header)
    assert answer.status == 200
    assert answer.body == CONTENT


def test_if_range_with_another_etag_gets_the_whole_file(index, url, wheel):
    assert index.get(url, range="bytes=0-9", if_range='"old"').status == 200
    matching = index.get(url, range="bytes=0-9", if_range=f'"{wheel.blake2_256_digest}"')
    assert matching.status == 206


def test_if_none_match_gives_304(index, url):
    etag = index.get(url).header("ETag")
    answer = index.get(url, if_none_match=etag)
    assert answer.status == 304
    assert answer.body == b""


def test_if_modified_since_gives_304_unless_the_file_is_newer_or_an_etag_is_asked(index, url):
    stored = index.get(url).header("Last-Modified")
    earlier = "Mon, 01 Jan 2001 00:00:00 GMT"

    assert index.get(url, if_modified_since=stored).status == 304
    assert index.get(url, if_modified_since="Fri, 01 Jan 2100 00:00:00 GMT").status == 304
    assert index.get(url, if_modified_since=earlier).status == 200
    assert index.get(url, if_modified_since="yesterday").status == 200
    assert index.get(url, if_modified_since=stored, if_none_match='"other"').status == 200


def test_range_on_an_empty_file_is_unsatisfiable():
    with pytest.raises(_Unsatisfiable):
        _byte_range("bytes=0-", 0)
    assert _byte_range(None, 0) is None


def test_metadata_is_the_exact_bytes_with_the_advertised_hash(index, wheel, url):
    entry = index.get("/simple/ranges/", accept="application/vnd.pypi.simple.v1+json").json()
    answer = index.get(entry["files"][0]["url"] + ".metadata")
    assert answer.status == 200
    assert answer.body == factory.metadata_for(wheel.release)
    assert hashlib.sha256(answer.body).hexdigest() == entry["files"][0]["core-metadata"]["sha256"]
    assert answer.header("Content-Type") == "text/plain; charset=utf-8"
    assert answer.header("ETag") != index.get(url).header("ETag")


def test_sdist_has_no_metadata_file(db, index, committed):
    with committed():
        sdist = factory.make_file(
            factory.make_release(factory.make_project("sd"), "1"), "sd-1.tar.gz"
        )
    assert index.get(f"/files/{sdist.path}.metadata").status == 404


@pytest.mark.parametrize(
    "path",
    [
        "/files/",
        "/files/nothing.whl",
        "/files/ab/cd/" + "0" * 60 + "/missing-1.0-py3-none-any.whl",
        "/files/../../../../etc/passwd",
        "/files/%2e%2e/%2e%2e/etc/passwd",
        "/files/ab/cd/" + "0" * 60 + "/../../../../../etc/passwd",
    ],
)
def test_unknown_files_and_escapes_are_404(index, wheel, path):
    assert index.get(path).status == 404


def test_directories_and_in_flight_uploads_are_never_served(index, wheel, settings):
    directory = wheel.path.rsplit("/", 1)[0]
    (settings.FILES_DIR / directory / ".incoming-abc").write_bytes(b"partial")
    assert index.get(f"/files/{directory}/.incoming-abc").status == 404
    (settings.FILES_DIR / directory / "sub.whl").mkdir()
    assert index.get(f"/files/{directory}/sub.whl").status == 404


def _set_status(project, status, committed):
    from bastion.packaging.services import journal

    with committed():
        type(project).objects.filter(pk=project.pk).update(status=status)
        journal(project, f"admin change to {project}: status")


def test_a_quarantined_project_serves_no_files_until_released(index, wheel, url, committed):
    """PEP 792: a quarantined project offers no files, by URL either, and nginx serving the
    files directory must not find them; lifting the quarantine brings them back unchanged."""
    from bastion.packaging import storage
    from bastion.packaging.models import ProjectStatus

    project = wheel.release.project
    _set_status(project, ProjectStatus.QUARANTINED, committed)
    assert index.get(url).status == 404
    assert index.get(url + ".metadata").status == 404
    assert not storage.path_for(wheel.path).exists()
    page = index.get("/simple/ranges/", accept="application/vnd.pypi.simple.v1+json").json()
    assert page["files"] == []
    _set_status(project, ProjectStatus.ACTIVE, committed)
    assert index.get(url).body == CONTENT
    assert index.get(url + ".metadata").status == 200


def test_a_file_deleted_while_quarantined_does_not_come_back(db, index, wheel, url, committed):
    from bastion.packaging import storage
    from bastion.packaging.models import ProjectStatus

    project = wheel.release.project
    _set_status(project, ProjectStatus.QUARANTINED, committed)
    with committed():
        wheel.delete()
        storage.discard(project.normalized_name, [wheel.path, wheel.metadata_path])
    _set_status(project, ProjectStatus.ACTIVE, committed)
    assert index.get(url).status == 404
    assert not any(storage.path_for(wheel.path).parent.parent.parent.rglob("*.whl"))


@pytest.fixture
def downloads(monkeypatch):
    counted = []
    monkeypatch.setattr(
        "bastion.simple.files.record_download", lambda name, _ua, source="": counted.append(name)
    )
    return counted


def test_with_object_storage_a_download_redirects_to_the_bucket_and_is_counted(
    s3_storage, db, index, committed, downloads
):
    with committed():
        release = factory.make_release(factory.make_project("remote"), "1.0")
        wheel = factory.make_file(release, content=CONTENT)
    answer = index.get(f"/files/{wheel.path}")
    assert answer.status == 302
    location = answer.header("Location")
    assert f"/index/files/{wheel.path}?" in location and "Signature=" in location
    assert answer.header("Cache-Control") == "private, no-store"
    assert downloads == [wheel.filename]
    assert index.head(f"/files/{wheel.path}").status == 302
    assert index.get(f"/files/{wheel.metadata_path}").status == 302
    assert downloads == [wheel.filename]  # HEAD and .metadata are no downloads


def test_with_a_files_url_the_redirect_goes_to_the_cdn(s3_storage, settings, db, index, url):
    settings.FILES_URL = "https://files.example.org/packages/"
    answer = index.get(url)
    assert answer.status == 302
    assert (
        answer.header("Location") == "https://files.example.org/packages/" + url[len("/files/") :]
    )
