"""Project lists and search: name, latest version, summary and date; ranked; paginated; indexed."""

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from bastion.packaging import selectors
from bastion.packaging.models import Project, Release, Role, RoleName
from tests.factories import add_release

pytestmark = pytest.mark.django_db


@pytest.fixture
def client():
    return Client()


def names(response) -> list[str]:
    assert response.status_code == 200
    return re.findall(
        r'class="listing-name" href="/project/[^/]+/">([^<]+)</a>', response.content.decode()
    )


@pytest.fixture
def published(make_project, alice):
    """A project with releases, its summary given, changed at ``serial``."""

    def make(name: str, *versions: str, summary: str = "", serial: int = 1) -> Project:
        project = make_project(name, owners=[alice])
        for version in versions or ("1.0",):
            add_release(project, version, summary=summary)
        Project.objects.filter(pk=project.pk).update(last_serial=serial)
        return project

    return make


def test_search_ranks_exact_name_then_prefix_then_summary_match(client, published):
    published("zope.interface", summary="Interfaces for Python")
    published("Foo_Bar", summary="The exact one")
    published("foo-bar-extra", serial=1)
    published("foo-bar-a", serial=2)
    published("afoo-bar", summary="Not quite foo-bar", serial=3)
    published("barista", summary="Makes coffee with foo.bar", serial=9)
    published("unrelated", summary="nothing")
    assert names(client.get("/", {"q": "FOO.bar"})) == [
        "Foo_Bar",  # exact, after normalization
        "foo-bar-a",  # names that start with it, A to Z
        "foo-bar-extra",
        "barista",  # then summaries containing it, the most recently changed first
    ]
    summary_says_foo_bar = ["Foo_Bar", "foo-bar-a", "foo-bar-extra", "afoo-bar"]
    assert names(client.get("/", {"q": "foo-bar"})) == summary_says_foo_bar


def test_search_finds_words_of_summaries_in_any_case(client, published):
    published("zope.interface", summary="Interfaces for Python")
    published("httpish", summary="A friendly HTTP client")
    assert names(client.get("/", {"q": "interfaces"})) == ["zope.interface"]
    assert names(client.get("/", {"q": "http client"})) == ["httpish"]


def test_the_summary_tier_is_bounded(client, published, monkeypatch):
    for number in range(5):
        published(f"tool-{number}", summary="a parser", serial=number)
    monkeypatch.setattr(selectors, "CONTAINS_LIMIT", 3)
    assert names(client.get("/", {"q": "parser"})) == ["tool-4", "tool-3", "tool-2"]


def test_search_without_match_says_so(client, published):
    published("widget")
    page = client.get("/", {"q": "<nothing>"}).content.decode()
    assert "0 results" in page and "&lt;nothing&gt;" in page


def test_a_listing_shows_latest_version_summary_and_date(client, make_project, alice):
    project = make_project("Widget", owners=[alice])
    add_release(project, "1.9", summary="old summary")
    add_release(project, "1.10", summary="Widgets for everyone")
    add_release(project, "2.0rc1", summary="pre-release")
    add_release(project, "1.11", summary="yanked one")
    Release.objects.filter(version="1.11").update(yanked=True)
    Project.objects.filter(pk=project.pk).update(last_serial=4)
    page = client.get("/").content.decode()
    assert '<span class="version">1.10</span>' in page
    assert "Widgets for everyone" in page
    released = Release.objects.get(version="1.10").created
    assert f'datetime="{released.isoformat()}"' in page or released.strftime("%Y-%m-%d") in page


def test_home_lists_the_most_recently_changed_first_in_pages(client, published):
    for number in range(25):
        published(f"project-{number:02}", serial=number + 1)
    first = names(client.get("/"))
    assert len(first) == selectors.PAGE_SIZE == 20
    assert first[:2] == ["project-24", "project-23"]
    second = client.get("/", {"page": 2})
    assert names(second) == [f"project-{n:02}" for n in range(4, -1, -1)]
    assert 'rel="prev"' in second.content.decode()


def test_search_results_are_paginated_and_the_pager_keeps_the_query(client, published):
    for number in range(23):
        published(f"lib-{number:02}")
    first = client.get("/", {"q": "lib"})
    assert len(names(first)) == 20 and "23 results" in first.content.decode()
    assert 'href="?q=lib&amp;page=2"' in first.content.decode()
    assert names(client.get("/", {"q": "lib", "page": 2})) == ["lib-20", "lib-21", "lib-22"]


def test_your_projects_and_the_profile_list_the_newest_release_first(
    client, make_user, make_project, alice
):
    older = make_project("Older", owners=[alice], versions=["1.0"])
    newer = make_project("Newer", owners=[alice], versions=["3.1"])
    Release.objects.filter(project=older).update(created=timezone.now() - timedelta(days=9))
    Release.objects.filter(project=newer).update(summary="Fresh")
    bob = make_user("bob")
    Role.objects.create(project=older, user=bob, role_name=RoleName.MAINTAINER)
    profile = client.get("/user/alice/")
    assert names(profile) == ["Newer", "Older"]
    assert '<span class="version">3.1</span>' in profile.content.decode()
    client.force_login(alice)
    mine = client.get("/manage/projects/")
    assert names(mine) == ["Newer", "Older"]
    assert "Fresh" in mine.content.decode() and 'aria-label="Manage Newer"' in mine.content.decode()


@pytest.mark.parametrize("path", ["/", "/help/", "/user/alice/", "/manage/account/"])
def test_every_page_has_the_search_box_in_its_header(client, alice, path):
    client.force_login(alice)
    page = client.get(path).content.decode()
    header = page[page.index('<header class="site-header">') : page.index("</header>")]
    assert 'role="search"' in header and 'name="q"' in header and 'action="/"' in header


def test_the_contains_tier_reads_only_the_newest_releases(client, published, monkeypatch):
    published("ancient", summary="a parser of widgets")
    published("modern", summary="a parser of gadgets")
    monkeypatch.setattr(selectors, "CONTAINS_WINDOW", 1)
    assert names(client.get("/", {"q": "parser"})) == ["modern"]


@pytest.mark.skipif(connection.vendor != "sqlite", reason="reads SQLite's query plans")
def test_searching_and_the_home_list_never_scan_a_table(client, published):
    """At 500,000 projects a full scan is what makes search slow: every tier uses an index."""
    published("requests", summary="HTTP for humans")
    with CaptureQueriesContext(connection) as queries:
        names(client.get("/", {"q": "req"}))
        names(client.get("/", {"q": "http"}))
        names(client.get("/"))
    plans = []
    with connection.cursor() as cursor:
        for query in queries.captured_queries:
            if "packaging_project" in query["sql"] and query["sql"].startswith("SELECT"):
                cursor.execute("EXPLAIN QUERY PLAN " + query["sql"])
                plans += [row[-1] for row in cursor.fetchall()]
    assert plans
    scans = [plan for plan in plans if plan.startswith("SCAN ")]
    assert not scans, plans
