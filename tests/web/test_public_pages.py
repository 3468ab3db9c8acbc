"""The public pages: the project page and user profiles (lists and search: see test_lists)."""

import pytest
from django.test import Client
from django.urls import reverse

from bastion.packaging.models import Release
from tests.factories import add_release

pytestmark = pytest.mark.django_db


@pytest.fixture
def client():
    return Client()


def test_project_page_shows_release_files_hashes_and_maintainers(client, world):
    page = client.get(reverse("project", args=["widget"])).content.decode()
    assert '<h1>Widget <span class="version">2.0</span></h1>' in page
    file = Release.objects.get(version="2.0").files.get()
    assert file.sha256_digest in page and file.blake2_256_digest in page
    assert f'href="/files/{file.path}"' in page
    assert 'href="/user/olivia/"' in page and 'href="/user/mario/"' in page
    assert page.index("olivia") < page.index("mario")  # owners first
    assert page.count('href="/project/widget/') >= 2  # release history links


def test_project_page_redirects_to_the_normalized_name(client, world):
    response = client.get("/project/WIDGET/1.0/")
    assert response.status_code == 301 and response["Location"] == "/project/widget/1.0/"


def test_unknown_project_or_release_is_404(client, world):
    assert client.get("/project/nope/").status_code == 404
    assert client.get("/project/widget/9.0/").status_code == 404


def test_yanked_release_is_marked_and_not_the_default(client, world):
    Release.objects.filter(version="2.0").update(yanked=True, yanked_reason="broken")
    page = client.get(reverse("project", args=["widget"])).content.decode()
    assert '<span class="version">1.0</span>' in page
    assert '<span class="badge yanked">yanked</span> <span class="muted">broken</span>' in page
    yanked = client.get(reverse("project_version", args=["widget", "2.0"])).content.decode()
    assert "This release was yanked: broken." in yanked


def test_prerelease_is_not_the_default_release(client, world):
    add_release(world.project, "3.0rc1")
    page = client.get(reverse("project", args=["widget"])).content.decode()
    assert '<span class="version">2.0</span>' in page and "pre-release" in page


def test_description_is_rendered_and_scripts_are_escaped(client, make_project, alice):
    project = make_project("Readme", owners=[alice])
    add_release(
        project,
        "1.0",
        description="# Title\n\n<script>alert('x')</script>\n\n[click](javascript:alert(1))\n"
        '<img src="x" onerror="alert(2)">',
        description_content_type="text/markdown",
    )
    page = client.get(reverse("project", args=["readme"])).content.decode()
    assert '<h1 id="user-content-title">Title' in page
    assert "<script>alert" not in page and "&lt;script&gt;" in page
    assert "javascript:" not in page and "onerror" not in page


def test_rst_description_is_rendered(client, make_project, alice):
    project = make_project("Rst", owners=[alice])
    add_release(project, "1.0", description="Hello\n=====\n\n*emphasis*\n")
    page = client.get(reverse("project", args=["rst"])).content.decode()
    assert "<em>emphasis</em>" in page


def test_only_http_links_from_metadata_are_shown(client, make_project, alice):
    project = make_project("Links", owners=[alice])
    add_release(
        project,
        "1.0",
        home_page="https://example.org/home",
        project_urls={"Source": "https://example.org/src", "Evil": "javascript:alert(1)"},
    )
    page = client.get(reverse("project", args=["links"])).content.decode()
    assert 'href="https://example.org/home"' in page and 'href="https://example.org/src"' in page
    assert "Evil" not in page and "javascript:" not in page


def test_user_profile_lists_projects_and_never_emails(client, world):
    page = client.get(reverse("user", args=["olivia"])).content.decode()
    assert "Widget" in page and "Owner" in page
    assert "@example.com" not in page
    assert client.get(reverse("user", args=["nobody"])).status_code == 404


def test_public_pages_have_no_inline_scripts_and_a_strict_csp(client, world):
    for url in ["/", "/project/widget/", "/user/olivia/", "/project/nope/"]:
        response = client.get(url)
        assert "script-src 'self'" in response["Content-Security-Policy"]
        assert "<script>" not in response.content.decode(), url


def test_every_page_names_its_icon_so_browsers_do_not_ask_for_favicon_ico(client, world):
    """UI review finding: each first visit logged a 404 for /favicon.ico in the console."""
    from django.contrib.staticfiles import finders

    page = client.get("/").content.decode()

    assert '<link rel="icon" href="/static/web/favicon.svg" type="image/svg+xml">' in page
    assert finders.find("web/favicon.svg")
