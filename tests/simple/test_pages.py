"""The simple pages as clients see them: formats, redirects, attributes, caching headers."""

import re
from hashlib import sha256

import pytest
from pypi_simple import IndexPage, ProjectPage, ProjectStatus

from bastion.packaging.models import ProjectStatus as Status
from bastion.packaging.services import last_serial
from bastion.publishing.models import Provenance
from bastion.simple import services
from bastion.simple.readpath import ReadPath
from bastion.wsgi import application, django_application
from tests.simple import factory
from tests.simple.test_negotiation import PIP, UV
from tests.simple.wsgi_client import WSGIClient

JSON = "application/vnd.pypi.simple.v1+json"
V1_HTML = "application/vnd.pypi.simple.v1+html"
UPLOAD_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")


@pytest.mark.parametrize(
    ("accept", "content_type"),
    [
        (None, "text/html"),
        ("*/*", "text/html"),
        (PIP, JSON),
        (UV, JSON),
        ("application/vnd.pypi.simple.latest+json", JSON),
        (V1_HTML, V1_HTML),
        ("application/vnd.pypi.simple.latest+html", V1_HTML),
        ("text/html", "text/html"),
    ],
)
@pytest.mark.parametrize("url", ["/simple/", "/simple/holy-grail/"])
def test_content_type_follows_accept(holy_grail, index, url, accept, content_type):
    answer = index.get(url, **({"accept": accept} if accept else {}))
    assert answer.status == 200
    assert answer.header("Content-Type") == content_type
    assert answer.header("Vary") == "Accept"
    assert int(answer.header("Content-Length")) == len(answer.body)


def test_format_query_parameter_overrides_accept(holy_grail, index):
    answer = index.get(f"/simple/holy-grail/?format={JSON}", accept="text/html")
    assert answer.header("Content-Type") == JSON
    assert answer.json()["name"] == "holy-grail"


@pytest.mark.parametrize("url", ["/simple/", "/simple/holy-grail/", "/simple/nope/"])
def test_unacceptable_accept_gets_406(holy_grail, index, url):
    answer = index.get(url, accept="application/json")
    assert answer.status == 406
    assert answer.header("Vary") == "Accept"
    assert b"application/vnd.pypi.simple.v1+json" in answer.body


@pytest.mark.parametrize(
    ("url", "location"),
    [
        ("/simple", "/simple/"),
        ("/simple/Holy_Grail/", "/simple/holy-grail/"),
        ("/simple/HOLY--GRAIL/", "/simple/holy-grail/"),
        ("/simple/holy.grail/", "/simple/holy-grail/"),
        ("/simple/holy-grail", "/simple/holy-grail/"),
        ("/simple/Holy_Grail", "/simple/holy-grail/"),
        (f"/simple/Holy_Grail/?format={JSON}", f"/simple/holy-grail/?format={JSON}"),
    ],
)
def test_unnormalized_urls_redirect_permanently(holy_grail, index, url, location):
    answer = index.get(url)
    assert answer.status == 301
    assert answer.header("Location") == location


@pytest.mark.parametrize(
    "url", ["/simple/unknown/", "/simple/-bad-/", "/simple/holy-grail/extra/", "/simple/a%2Fb/"]
)
def test_unknown_or_invalid_names_are_404(holy_grail, index, url):
    assert index.get(url).status == 404


def test_lookup_of_unknown_name_creates_nothing(db, index):
    assert index.get("/simple/unknown/").status == 404
    assert not (services.pages_root() / "unknown").exists()


def test_project_without_files_still_has_a_page(db, index, committed):
    with committed():
        factory.make_project("Empty")
    answer = index.get("/simple/empty/", accept=JSON)
    assert answer.status == 200
    assert answer.json()["files"] == []


def test_html_project_page_carries_the_standard_attributes(holy_grail, index):
    answer = index.get("/simple/holy-grail/")
    html = answer.body.decode()
    page = ProjectPage.from_html(
        "holy-grail", html, base_url="http://index.test/simple/holy-grail/"
    )
    assert page.repository_version == "1.4"
    assert page.status is ProjectStatus.ACTIVE
    packages = {p.filename: p for p in page.packages}
    assert set(packages) == {
        "holy_grail-0.9.tar.gz",
        "holy_grail-1.0.tar.gz",
        "holy_grail-1.0-py3-none-any.whl",
    }
    files = {f.filename: f for f in _files(holy_grail)}
    for filename, package in packages.items():
        assert package.digests == {"sha256": files[filename].sha256_digest}
        assert package.url == f"http://index.test/files/{files[filename].path}"
    wheel = packages["holy_grail-1.0-py3-none-any.whl"]
    assert wheel.requires_python == ">=3.9"
    assert wheel.has_metadata
    assert wheel.metadata_digests == {"sha256": files[wheel.filename].metadata_sha256_digest}
    assert not wheel.is_yanked
    old = packages["holy_grail-0.9.tar.gz"]
    assert old.is_yanked and old.yanked_reason == "Had a bug"
    assert not old.has_metadata
    assert "data-core-metadata" not in re.search(r"<a [^>]+>holy_grail-0.9.tar.gz", html)[0]
    # The raw HTML: escaped specifiers, the legacy alias equal to the new attribute, anchor text.
    assert 'data-requires-python="&gt;=3.9"' in html
    core = re.search(r'data-core-metadata="([^"]+)"', html)[1]
    assert f'data-dist-info-metadata="{core}"' in html
    assert re.findall(r"<a [^>]+>([^<]+)</a>", html) == sorted(packages, key=_by_version)
    assert '<meta name="pypi:repository-version" content="1.4">' in html


def _by_version(filename: str):
    return ("0.9" not in filename, filename)


def _files(project):
    return [f for r in project.releases.all() for f in r.files.all()]


def test_html_escapes_everything_from_users(db, index, committed):
    reason = 'broken <script>alert("x")</script> & more'
    with committed():
        project = factory.make_project("escapes", status=Status.DEPRECATED, status_reason="use <b>")
        release = factory.make_release(
            project, "1.0", requires_python="<4,>=3.9", yanked=True, yanked_reason=reason
        )
        factory.make_file(release)
    html = index.get("/simple/escapes/").body.decode()
    assert "<script>" not in html and "<b>" not in html
    assert (
        'data-yanked="broken &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; more"' in html
    )
    assert 'data-requires-python="&lt;4,&gt;=3.9"' in html
    assert '<meta name="pypi:project-status" content="deprecated">' in html
    assert '<meta name="pypi:project-status-reason" content="use &lt;b&gt;">' in html
    page = ProjectPage.from_html("escapes", html)
    assert page.packages[0].yanked_reason == reason
    assert page.packages[0].requires_python == "<4,>=3.9"
    assert page.status is ProjectStatus.DEPRECATED and page.status_reason == "use <b>"


def test_yanked_without_reason_is_a_bare_attribute_and_true(db, index, committed):
    with committed():
        project = factory.make_project("bare")
        factory.make_file(factory.make_release(project, "1.0", yanked=True))
    html = index.get("/simple/bare/").body.decode()
    assert re.search(r"<a [^>]* data-yanked[ >]", html)
    assert "data-yanked=" not in html
    assert index.get("/simple/bare/", accept=JSON).json()["files"][0]["yanked"] is True


def test_json_project_page(holy_grail, index):
    answer = index.get("/simple/holy-grail/", accept=PIP)
    data = answer.json()
    assert data["meta"] == {"api-version": "1.4", "_last-serial": holy_grail.last_serial}
    assert data["name"] == "holy-grail"
    assert data["project-status"] == {"status": "active"}
    assert data["versions"] == ["0.9", "1.0"]
    files = {f.filename: f for f in _files(holy_grail)}
    by_name = {entry["filename"]: entry for entry in data["files"]}
    assert set(by_name) == set(files)
    for filename, entry in by_name.items():
        file = files[filename]
        assert "dist-info-metadata" not in entry  # pip 22.3 to 23.1 crash on it (PEP 714)
        assert entry["url"] == f"/files/{file.path}"
        assert entry["hashes"] == {"sha256": file.sha256_digest}
        assert entry["size"] == file.size
        assert UPLOAD_TIME.match(entry["upload-time"])
        assert entry["data-dist-info-metadata"] == entry["core-metadata"]
    wheel = by_name["holy_grail-1.0-py3-none-any.whl"]
    assert wheel["core-metadata"] == {"sha256": files[wheel["filename"]].metadata_sha256_digest}
    assert wheel["requires-python"] == ">=3.9"
    assert wheel["yanked"] is False
    assert by_name["holy_grail-1.0.tar.gz"]["core-metadata"] is False
    assert by_name["holy_grail-0.9.tar.gz"]["yanked"] == "Had a bug"

    page = ProjectPage.from_json_data(data, base_url="http://index.test/simple/holy-grail/")
    assert page.repository_version == "1.4"
    assert page.versions == ["0.9", "1.0"]
    assert page.last_serial == str(holy_grail.last_serial)
    parsed = {p.filename: p for p in page.packages}
    assert parsed["holy_grail-1.0-py3-none-any.whl"].has_metadata
    assert parsed["holy_grail-0.9.tar.gz"].yanked_reason == "Had a bug"
    assert all(p.upload_time is not None and p.size for p in page.packages)


def test_requires_python_is_null_when_unset(db, index, committed):
    with committed():
        project = factory.make_project("anypython")
        factory.make_file(factory.make_release(project, "1.0"))
    entry = index.get("/simple/anypython/", accept=JSON).json()["files"][0]
    assert entry["requires-python"] is None
    assert "data-requires-python" not in index.get("/simple/anypython/").body.decode()


def test_serial_header_matches_project_and_index(holy_grail, index):
    assert index.get("/simple/holy-grail/").header("X-PyPI-Last-Serial") == str(
        holy_grail.last_serial
    )
    assert index.get("/simple/", accept=JSON).header("X-PyPI-Last-Serial") == str(last_serial())


def test_root_lists_display_names_and_serials(holy_grail, index, committed):
    with committed():
        other = factory.make_project("Spam.Eggs")
    data = index.get("/simple/", accept=JSON).json()
    other.refresh_from_db()
    assert data["meta"] == {"api-version": "1.4", "_last-serial": last_serial()}
    assert data["projects"] == [
        {"name": "Holy_Grail", "_last-serial": holy_grail.last_serial},
        {"name": "Spam.Eggs", "_last-serial": other.last_serial},
    ]
    assert IndexPage.from_json_data(data).projects == ["Holy_Grail", "Spam.Eggs"]
    html = index.get("/simple/").body.decode()
    assert '<a href="/simple/holy-grail/">Holy_Grail</a>' in html
    assert '<a href="/simple/spam-eggs/">Spam.Eggs</a>' in html


def test_quarantined_project_lists_no_files_and_is_hidden_from_the_root(db, index, committed):
    with committed():
        project = factory.make_project(
            "Bad", status=Status.QUARANTINED, status_reason="malware reported"
        )
        factory.make_file(factory.make_release(project, "1.0"))
        factory.make_project("Good")
    data = index.get("/simple/bad/", accept=JSON).json()
    assert data["files"] == [] and data["versions"] == []
    assert data["project-status"] == {"status": "quarantined", "reason": "malware reported"}
    html = index.get("/simple/bad/").body.decode()
    assert "<a " not in html
    assert '<meta name="pypi:project-status" content="quarantined">' in html
    assert [p["name"] for p in index.get("/simple/", accept=JSON).json()["projects"]] == ["Good"]
    assert "/simple/bad/" not in index.get("/simple/").body.decode()


@pytest.mark.parametrize("accept", [JSON, "text/html"])
def test_strong_etag_and_304(holy_grail, index, accept):
    first = index.get("/simple/holy-grail/", accept=accept)
    etag = first.header("ETag")
    assert etag == f'"{sha256(first.body).hexdigest()}"'
    again = index.get("/simple/holy-grail/", accept=accept, if_none_match=etag)
    assert again.status == 304
    assert again.body == b""
    assert again.header("ETag") == etag and again.header("Vary") == "Accept"
    assert index.get("/simple/holy-grail/", accept=accept, if_none_match=f"W/{etag}").status == 304
    assert index.get("/simple/holy-grail/", accept=accept, if_none_match='"other"').status == 200


def test_each_representation_has_its_own_etag(holy_grail, index):
    """RFC 9110 8.8.3: a strong validator is unique across representations, and the two HTML
    media types are the same bytes under another Content-Type."""
    v1_html = "application/vnd.pypi.simple.v1+html"
    etags = {
        accept: index.get("/simple/holy-grail/", accept=accept).header("ETag")
        for accept in (JSON, v1_html, "text/html")
    }
    assert len(set(etags.values())) == 3
    plain_etag = etags["text/html"]
    assert index.get("/simple/holy-grail/", accept=v1_html, if_none_match=plain_etag).status == 200
    again = index.get("/simple/holy-grail/", accept=v1_html, if_none_match=etags[v1_html])
    assert again.status == 304


def test_head_sends_headers_without_body(holy_grail, index):
    get = index.get("/simple/holy-grail/", accept=JSON)
    head = index.head("/simple/holy-grail/", accept=JSON)
    assert head.status == 200 and head.body == b""
    assert head.header("Content-Length") == str(len(get.body))
    assert head.header("ETag") == get.header("ETag")


def test_a_change_re_renders_the_pages_on_the_next_read(holy_grail, index, committed):
    before = index.get("/simple/holy-grail/", accept=JSON)
    root_before = index.get("/simple/", accept=JSON)
    with committed():
        factory.make_file(factory.make_release(holy_grail, "2.0"))
    # The receiver removed the old page; the next read renders the new one to disk.
    assert not (services.pages_root() / "holy-grail" / "index.json").exists()
    after = index.get("/simple/holy-grail/", accept=JSON)
    on_disk = (services.pages_root() / "holy-grail" / "index.json").read_bytes()
    assert b"holy_grail-2.0-py3-none-any.whl" in on_disk
    assert after.body == on_disk
    assert after.header("ETag") != before.header("ETag")
    assert "2.0" in after.json()["versions"]
    assert int(after.header("X-PyPI-Last-Serial")) > int(before.header("X-PyPI-Last-Serial"))
    stale = index.get("/simple/holy-grail/", accept=JSON, if_none_match=before.header("ETag"))
    assert stale.status == 200
    assert index.get("/simple/", accept=JSON).header("ETag") != root_before.header("ETag")


def test_serving_a_rendered_page_touches_no_database(holy_grail, index, django_assert_num_queries):
    etag = index.get("/simple/holy-grail/").header("ETag")
    index.get("/simple/", accept=JSON)
    index.get("/simple/holy-grail/", accept=JSON)
    with django_assert_num_queries(0):
        assert index.get("/simple/holy-grail/").status == 200
        assert index.get("/simple/holy-grail/", accept=PIP).status == 200
        assert index.get("/simple/", accept=JSON).status == 200
        assert index.get("/simple/", accept="text/html").status == 200
        assert index.get("/simple/holy-grail/", if_none_match=etag).status == 304
        assert index.get("/simple/Holy_Grail/").status == 301


def test_a_fresh_process_serves_pages_it_did_not_render(holy_grail, django_assert_num_queries):
    """Another worker's cache is empty: it reads the tree from disk, still without queries."""
    other_worker = WSGIClient(ReadPath(django_application))
    with django_assert_num_queries(0):
        assert other_worker.get("/simple/holy-grail/").status == 200


def test_missing_pages_are_rendered_on_first_read(holy_grail, index):
    pages = services.pages_root()
    for page in pages.rglob("index.*"):
        page.unlink()
    (pages / ".list" / "manifest.json").unlink()
    answer = index.get("/simple/holy-grail/", accept=JSON)
    assert answer.status == 200
    assert answer.json()["versions"] == ["0.9", "1.0"]
    assert (pages / "holy-grail" / "index.html").exists()
    assert index.get("/simple/", accept=JSON).json()["projects"][0]["name"] == "Holy_Grail"
    assert (pages / ".list" / "manifest.json").exists()


def test_the_product_wsgi_application_routes_reads_and_hands_the_rest_to_django(holy_grail):
    client = WSGIClient(application)
    assert client.get("/simple/holy-grail/").header("Content-Type") == "text/html"
    assert client.get("/healthz").json()["status"] == "ok"
    assert client.request("POST", "/simple/").status == 404  # not ours: Django answers


@pytest.mark.django_db(transaction=True)  # as in production, where a worker would commit
def test_with_a_worker_the_project_list_is_still_current_at_once(
    holy_grail, index, committed, settings
):
    """With BASTION_TASK_BACKEND=database the list is not left to the worker: a change renders
    only its block of it (see tests/simple/test_rootlist.py), so it is current at once."""
    from django_tasks_db.models import DBTaskResult

    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    with committed():
        factory.make_project("Spam.Eggs")
    with committed():
        factory.make_project("Ham")
    names = [p["name"] for p in index.get("/simple/", accept=JSON).json()["projects"]]
    assert names == ["Ham", "Holy_Grail", "Spam.Eggs"]
    assert not DBTaskResult.objects.exists()


def test_a_file_with_provenance_links_it_by_absolute_url_in_both_formats(
    holy_grail, index, settings
):
    """PEP 740: ``provenance`` in JSON and ``data-provenance`` in HTML, absolute; others null."""
    wheel = holy_grail.releases.get(version="1.0").files.get(filename__endswith=".whl")
    Provenance.objects.create(file=wheel, kind="github", publisher_object={}, attestations=[])
    services.render_project("holy-grail")
    url = f"{settings.BASE_URL}/integrity/holy-grail/1.0/{wheel.filename}/provenance"

    listed = index.get("/simple/holy-grail/", accept=JSON).json()["files"]
    files = {entry["filename"]: entry["provenance"] for entry in listed}
    html = index.get("/simple/holy-grail/", accept="text/html").body.decode()

    assert files == {
        "holy_grail-0.9.tar.gz": None,
        "holy_grail-1.0.tar.gz": None,
        wheel.filename: url,
    }
    assert html.count("data-provenance=") == 1
    assert f'data-provenance="{url}">{wheel.filename}</a>' in html


def test_a_new_public_url_renders_a_new_tree(holy_grail, settings):
    """Provenance URLs embed BASTION_BASE_URL, so pages written under another one are not used."""
    before = services.live_root()
    settings.BASE_URL = "https://index.example.com"

    assert services.live_root() != before
    assert services.render_project("holy-grail")
    assert (services.pages_root() / "holy-grail" / "index.json").exists()
