"""Names not hosted here come from the upstream index, through Bastion's own URLs and cache."""

import hashlib
import json
import os
import threading
import time
from http.server import ThreadingHTTPServer

import pytest

from bastion.packaging import storage
from bastion.simple import services as simple_services
from bastion.upstream.models import UpstreamFile
from tests.simple import factory
from tests.upstream.conftest import JSON_TYPE, wheel_entry

pytestmark = pytest.mark.django_db(transaction=True)


def test_unknown_name_is_served_from_upstream_in_bastions_formats(index, upstream):
    entry = wheel_entry(upstream, "demo", "1.0", yanked="broken build")
    upstream.add_page("demo", [entry])

    page = index.request("GET", "/simple/demo/", {"Accept": JSON_TYPE})

    assert page.status == 200
    assert page.header("X-Bastion-Upstream") == "fetched"
    [listed] = page.json()["files"]
    assert listed["url"] == f"/files/upstream/{entry['hashes']['sha256']}/{entry['filename']}"
    assert listed["hashes"] == entry["hashes"]
    assert listed["requires-python"] == ">=3.8"
    assert listed["yanked"] == "broken build"
    assert listed["core-metadata"] == entry["core-metadata"]
    assert "dist-info-metadata" not in listed  # PEP 714: never the key that crashes old pip
    html = index.request("GET", "/simple/demo/", {"Accept": "text/html"}).body.decode()
    assert f'data-core-metadata="sha256={entry["core-metadata"]["sha256"]}"' in html
    assert 'data-requires-python="&gt;=3.8"' in html and 'data-yanked="broken build"' in html
    assert upstream.url not in html

    again = index.request("GET", "/simple/demo/", {"Accept": JSON_TYPE})
    assert again.header("X-Bastion-Upstream") == "cached"
    assert upstream.count("/simple/demo/") == 1


def test_html_only_upstream_is_read_too(index, upstream):
    entry = wheel_entry(upstream, "old-style", "2.0", rp_html="&gt;=3.9", yanked=True)
    upstream.add_page("old-style", [entry], html=True)

    [listed] = index.request("GET", "/simple/old-style/", {"Accept": JSON_TYPE}).json()["files"]

    assert listed["hashes"]["sha256"] == entry["hashes"]["sha256"]
    assert listed["requires-python"] == ">=3.9" and listed["yanked"] is True


def test_file_is_fetched_once_checked_stored_and_then_served_from_storage(index, upstream):
    entry = wheel_entry(upstream, "demo", "1.0")
    upstream.add_page("demo", [entry])
    url = index.request("GET", "/simple/demo/", {"Accept": JSON_TYPE}).json()["files"][0]["url"]

    first = index.request("GET", url)
    upstream.stop()
    second = index.request("GET", url)
    metadata_path = f"/files/{entry['filename']}.metadata"

    assert first.status == second.status == 200
    assert first.body == second.body == entry["_body"]
    assert upstream.count(f"/files/{entry['filename']}") == 1
    assert upstream.count(metadata_path) == 0
    assert UpstreamFile.objects.get().stored_bytes == len(entry["_body"])


def test_metadata_file_is_proxied_byte_for_byte(index, upstream):
    entry = wheel_entry(upstream, "demo", "1.0")
    upstream.add_page("demo", [entry])
    url = index.request("GET", "/simple/demo/", {"Accept": JSON_TYPE}).json()["files"][0]["url"]

    answer = index.request("GET", url + ".metadata")

    assert answer.status == 200 and answer.body == entry["_metadata"]


def test_concurrent_first_requests_fetch_a_file_once(index, upstream):
    entry = wheel_entry(upstream, "demo", "1.0")
    upstream.add_page("demo", [entry])
    url = index.request("GET", "/simple/demo/", {"Accept": JSON_TYPE}).json()["files"][0]["url"]
    upstream.delay = 0.3
    answers = []
    threads = [
        threading.Thread(target=lambda: answers.append(index.request("GET", url))) for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert [a.status for a in answers] == [200] * 4
    assert all(a.body == entry["_body"] for a in answers)
    assert upstream.count(f"/files/{entry['filename']}") == 1


def test_file_whose_bytes_do_not_match_the_listed_sha256_is_refused_and_not_kept(index, upstream):
    entry = wheel_entry(upstream, "demo", "1.0")
    upstream.add_page("demo", [entry])
    url = index.request("GET", "/simple/demo/", {"Accept": JSON_TYPE}).json()["files"][0]["url"]
    upstream.add_file(f"/files/{entry['filename']}", b"tampered bytes")  # after the listing

    answer = index.request("GET", url)

    assert answer.status == 502
    assert b"does not match the sha256" in answer.body
    assert not storage.path_for(url.removeprefix("/files/")).exists()
    assert not any(storage.path_for("upstream").rglob("*.whl"))
    assert UpstreamFile.objects.get().stored_at is None
    assert index.request("GET", url).status == 502  # and refused again, not served


def test_files_no_upstream_page_listed_are_not_fetched(index, upstream):
    sha = hashlib.sha256(b"x").hexdigest()
    assert index.request("GET", f"/files/upstream/{sha}/demo-1.0-py3-none-any.whl").status == 404
    assert upstream.requests == []


def test_page_is_revalidated_with_the_etag_after_its_lifetime(index, upstream, settings):
    upstream.add_page("demo", [wheel_entry(upstream, "demo", "1.0")])
    index.request("GET", "/simple/demo/")
    settings.UPSTREAM_PAGE_TTL = 0

    answer = index.request("GET", "/simple/demo/")

    assert answer.status == 200 and answer.header("X-Bastion-Upstream") == "revalidated"
    assert upstream.requests[-1][1].get("If-None-Match")


def test_unreachable_upstream_serves_the_cached_page_and_says_so(index, upstream, settings):
    upstream.add_page("demo", [wheel_entry(upstream, "demo", "1.0")])
    index.request("GET", "/simple/demo/")
    settings.UPSTREAM_PAGE_TTL = 0
    upstream.stop()

    answer = index.request("GET", "/simple/demo/", {"Accept": JSON_TYPE})

    assert answer.status == 200 and answer.header("X-Bastion-Upstream") == "stale"
    assert answer.json()["files"]


def test_a_hanging_upstream_does_not_hold_back_the_cached_page(index, upstream, settings):
    """Red-team finding: an upstream that accepts connections and never answers kept every
    request for a cached page waiting the whole read timeout (30 s, longer than pip's 15 s), one
    after the other on the page's lock, so pip failed with every file it needed cached."""
    from bastion.upstream import services

    upstream.add_page("demo", [wheel_entry(upstream, "demo", "1.0")])
    index.request("GET", "/simple/demo/")
    settings.UPSTREAM_PAGE_TTL = 0
    settings.UPSTREAM_CONNECT_TIMEOUT = 0.5  # with a page to fall back on, the patience
    upstream.delay = 4  # above the patience, below the fixture's 5 s read timeout
    asked = upstream.count("/simple/demo/")

    started = time.monotonic()
    first = index.request("GET", "/simple/demo/", {"Accept": JSON_TYPE})
    waited = time.monotonic() - started
    again = index.request("GET", "/simple/demo/", {"Accept": JSON_TYPE})

    assert first.status == 200 and first.header("X-Bastion-Upstream") == "stale"
    assert waited < upstream.delay
    assert again.status == 200 and again.header("X-Bastion-Upstream") == "stale"
    assert upstream.count("/simple/demo/") == asked + 1  # not asked again right away

    # A refresh under way (the page's lock held elsewhere): the page at once, no queueing.
    caches_cleared = services.cache.delete("upstream:unreachable:demo")
    answers = []
    with services._stripe_lock("page", "demo"):
        reader = threading.Thread(
            target=lambda: answers.append(index.request("GET", "/simple/demo/"))
        )
        reader.start()
        reader.join(10)
    assert caches_cleared and answers and answers[0].header("X-Bastion-Upstream") == "stale"


def test_name_never_seen_with_upstream_down_is_a_quick_502(index, upstream):
    upstream.stop()
    started = time.monotonic()

    answer = index.request("GET", "/simple/never-seen/")

    assert answer.status == 502 and b"upstream index could not be reached" in answer.body
    assert time.monotonic() - started < 5


def test_upstream_404_is_a_404(index, upstream):
    answer = index.request("GET", "/simple/nowhere/")
    assert answer.status == 404 and b"upstream" in answer.body


def test_excluded_names_never_come_from_upstream(index, upstream, settings):
    settings.UPSTREAM_EXCLUDE = ["Acme_*"]
    upstream.add_page("acme-app", [wheel_entry(upstream, "acme-app", "9.0")])

    answer = index.request("GET", "/simple/acme-app/")

    assert answer.status == 404 and b"BASTION_UPSTREAM_EXCLUDE" in answer.body
    assert upstream.requests == []  # the private name never even leaves the organisation


def test_local_project_pages_list_only_local_files(index, upstream, committed):
    upstream.add_page("demo", [wheel_entry(upstream, "demo", "99.0")])
    with committed():
        release = factory.make_release(factory.make_project("demo"), "0.1")
        factory.make_file(release)

    files = index.request("GET", "/simple/demo/", {"Accept": JSON_TYPE}).json()["files"]

    assert [f["filename"] for f in files] == ["demo-0.1-py3-none-any.whl"]
    assert upstream.requests == []


def test_creating_a_local_project_drops_the_upstream_cache_of_its_name(index, upstream, committed):
    entry = wheel_entry(upstream, "demo", "99.0")
    upstream.add_page("demo", [entry])
    index.request("GET", "/simple/demo/")
    with committed():
        release = factory.make_release(factory.make_project("demo"), "0.1")
        factory.make_file(release)

    files = index.request("GET", "/simple/demo/", {"Accept": JSON_TYPE}).json()["files"]
    upstream_file = f"/files/upstream/{entry['hashes']['sha256']}/{entry['filename']}"

    assert [f["filename"] for f in files] == ["demo-0.1-py3-none-any.whl"]
    assert index.request("GET", upstream_file).status == 404


def test_cache_over_its_cap_drops_the_least_recently_used_files(index, upstream, settings):
    old, new = wheel_entry(upstream, "demo", "1.0"), wheel_entry(upstream, "demo", "2.0")
    upstream.add_page("demo", [old, new])
    old_url, new_url = [
        f["url"]
        for f in index.request("GET", "/simple/demo/", {"Accept": JSON_TYPE}).json()["files"]
    ]
    settings.UPSTREAM_CACHE_BYTES = len(old["_body"]) + len(new["_body"]) - 1

    index.request("GET", old_url)
    old_path = storage.path_for(old_url.removeprefix("/files/"))
    os.utime(old_path, (time.time() - 7200, old_path.stat().st_mtime))  # last used 2 h ago
    index.request("GET", new_url)

    assert not storage.path_for(old_url.removeprefix("/files/")).exists()
    new_path = storage.path_for(new_url.removeprefix("/files/"))
    assert new_path.exists()
    os.utime(new_path, (time.time() - 3600, new_path.stat().st_mtime))  # last used 1 h ago
    assert index.request("GET", old_url).body == old["_body"]  # fetched again when asked for
    assert upstream.count(f"/files/{old['filename']}") == 2
    assert not new_path.exists()


def test_a_deleted_local_project_never_falls_through_to_upstream(index, upstream, committed):
    upstream.add_page("acme-utils", [wheel_entry(upstream, "acme-utils", "99.0")])
    with committed():
        project = factory.make_project("acme-utils")
        factory.make_file(factory.make_release(project, "1.0"))
    project.delete()
    simple_services.mark_stale(normalized_name="acme-utils")  # as the deletion announces

    answer = index.request("GET", "/simple/acme-utils/")

    assert answer.status == 404 and b"was hosted here" in answer.body
    assert upstream.requests == []


def test_with_object_storage_a_file_is_fetched_once_into_the_bucket_then_redirected_there(
    index, upstream, s3_storage, settings
):
    entry = wheel_entry(upstream, "demo", "1.0")
    upstream.add_page("demo", [entry])
    url = index.request("GET", "/simple/demo/", {"Accept": JSON_TYPE}).json()["files"][0]["url"]
    key = url.removeprefix("/files/")

    first = index.request("GET", url)
    upstream.stop()
    second = index.request("GET", url)

    assert first.status == second.status == 302
    assert f"/index/files/{key}?" in second.header("Location")  # presigned, in the bucket
    stored = s3_storage.client.get_object(Bucket="bastion-test", Key=f"index/files/{key}")
    assert stored["Body"].read() == entry["_body"]
    assert upstream.count(f"/files/{entry['filename']}") == 1
    assert not (settings.FILES_DIR / "upstream").exists()  # nothing on this server's disk

    settings.UPSTREAM_CACHE_BYTES = 1  # over the cap: the file goes, from the bucket
    from bastion.upstream import services as upstream_services

    assert upstream_services.evict_to_cap(1) == len(entry["_body"])
    assert not storage.exists(key)


def quarantine_upstream(upstream, settings) -> None:
    """The upstream quarantines "demo" (PEP 792: no files listed), due for a refresh at once."""
    document = {
        "meta": {"api-version": "1.1"},
        "name": "demo",
        "project-status": {"status": "quarantined", "reason": "malware"},
        "files": [],
    }
    upstream.routes["/simple/demo/"] = (200, JSON_TYPE, json.dumps(document).encode())
    settings.UPSTREAM_PAGE_TTL = 0


def _file_url(entry: dict) -> str:
    return f"/files/upstream/{entry['hashes']['sha256']}/{entry['filename']}"


def test_files_the_upstream_stops_listing_are_no_longer_served_or_fetched(
    index, upstream, settings
):
    """Review finding: after the upstream quarantined a project (PEP 792: no files listed), its
    cached files were still served and its uncached ones still fetched, for anyone holding a
    URL (a lock file)."""
    cached, never_fetched = (
        wheel_entry(upstream, "demo", "1.0"),
        wheel_entry(upstream, "demo", "2.0"),
    )
    upstream.add_page("demo", [cached, never_fetched])
    index.request("GET", "/simple/demo/")
    assert index.request("GET", _file_url(cached)).status == 200
    stored = storage.local_path(_file_url(cached).removeprefix("/files/"))
    assert stored.exists()

    quarantine_upstream(upstream, settings)
    page = index.request("GET", "/simple/demo/", {"Accept": JSON_TYPE}).json()
    fetches = upstream.count(f"/files/{never_fetched['filename']}")

    assert page["files"] == [] and page["project-status"]["status"] == "quarantined"
    assert index.request("GET", _file_url(cached)).status == 404
    assert index.request("GET", _file_url(never_fetched)).status == 404
    assert upstream.count(f"/files/{never_fetched['filename']}") == fetches
    assert not stored.exists()


def test_bytes_a_filename_no_longer_names_upstream_are_dropped(index, upstream, settings):
    """Review finding: when the upstream republished a filename with other bytes, the old bytes
    stayed cached and served, uncounted against the cache's cap, and purge missed them."""
    old = wheel_entry(upstream, "demo", "1.0")
    upstream.add_page("demo", [old])
    index.request("GET", "/simple/demo/")
    assert index.request("GET", _file_url(old)).status == 200

    new_body = b"rebuilt wheel\n" * 40
    new = {**old, "hashes": {"sha256": upstream.add_file(f"/files/{old['filename']}", new_body)}}
    new["size"] = len(new_body)
    upstream.add_page("demo", [new])
    settings.UPSTREAM_PAGE_TTL = 0
    index.request("GET", "/simple/demo/")

    assert index.request("GET", _file_url(old)).status == 404
    assert not storage.local_path(_file_url(old).removeprefix("/files/")).exists()
    fetched = index.request("GET", _file_url(new))
    assert fetched.status == 200 and fetched.body == new_body
    assert UpstreamFile.objects.get().stored_bytes > 0  # the new bytes, counted once


def test_credentials_in_the_upstream_url_reach_that_host_only(index, upstream, settings):
    """Upstream review finding: a private upstream's user:password@ in BASTION_UPSTREAM_URL was
    dropped by the HTTP library, so such an upstream could not be used at all."""
    import base64

    from tests.upstream.conftest import FakeUpstream, _handler

    elsewhere = FakeUpstream()
    elsewhere.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(elsewhere))
    elsewhere.url = f"http://127.0.0.1:{elsewhere.server.server_address[1]}"
    threading.Thread(target=elsewhere.server.serve_forever, daemon=True).start()
    try:
        here = wheel_entry(upstream, "demo", "1.0")
        there = wheel_entry(elsewhere, "demo", "2.0")
        there["url"] = f"{elsewhere.url}/files/{there['filename']}"  # another host, like PyPI's
        upstream.add_page("demo", [here, there])
        settings.UPSTREAM_URL = upstream.url.replace("http://", "http://ci:p%40ss@") + "/simple/"

        assert index.request("GET", "/simple/demo/").status == 200
        assert index.request("GET", _file_url(here)).status == 200
        assert index.request("GET", _file_url(there)).status == 200
    finally:
        elsewhere.stop()

    def sent(fake, header):
        return [
            next((v for k, v in headers.items() if k.lower() == header), None)
            for _, headers in fake.requests
        ]

    expected = "Basic " + base64.b64encode(b"ci:p@ss").decode()
    assert set(sent(upstream, "authorization")) == {expected}
    assert all(
        headers.get("User-Agent", "").startswith("Bastion") for _, headers in upstream.requests
    )
    assert [headers.get("Authorization") for _, headers in elsewhere.requests] == [None]

    upstream.stop()  # the upstream's address, never its password, in what clients are told
    answer = index.request("GET", "/simple/never-seen/")
    assert answer.status == 502 and b"p%40ss" not in answer.body and b"p@ss" not in answer.body


def test_a_fetch_racing_a_refresh_that_drops_its_file_keeps_nothing(
    index, upstream, settings, monkeypatch
):
    """Review finding: a download under way while a refresh dropped its file (a quarantine)
    stored the bytes afterwards, where they were served for good and no purge could find them."""
    from bastion.upstream import services as upstream_services

    entry = wheel_entry(upstream, "demo", "1.0")
    upstream.add_page("demo", [entry])
    assert index.request("GET", "/simple/demo/").status == 200
    fetch = upstream_services._fetch_verified

    def fetch_while_the_upstream_quarantines(url, expected, key, limit):
        quarantine_upstream(upstream, settings)
        assert upstream_services.refresh_page("demo") == upstream_services.Outcome.FETCHED
        return fetch(url, expected, key, limit)

    monkeypatch.setattr(upstream_services, "_fetch_verified", fetch_while_the_upstream_quarantines)
    racing = index.request("GET", _file_url(entry))
    monkeypatch.setattr(upstream_services, "_fetch_verified", fetch)

    assert racing.status == 404
    assert index.request("GET", _file_url(entry)).status == 404
    assert not storage.local_path(_file_url(entry).removeprefix("/files/")).exists()
