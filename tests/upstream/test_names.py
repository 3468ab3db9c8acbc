"""Dependency confusion is impossible by construction: a local name never shadows the upstream's
unless an admin allowed it, and once local, the upstream's files for it are never served."""

import pytest

from bastion.authz.creation import validate_new_project_name
from bastion.cli import main
from bastion.events.models import SecurityEvent
from bastion.packaging.services import PackagingError
from bastion.upstream.models import AllowedName, UpstreamProject
from tests.upstream.conftest import JSON_TYPE, wheel_entry

pytestmark = pytest.mark.django_db(transaction=True)


def test_new_local_name_that_exists_upstream_is_refused_with_the_clash(upstream):
    upstream.add_page("requests", [wheel_entry(upstream, "requests", "2.32.0")])

    with pytest.raises(PackagingError) as refused:
        validate_new_project_name("Requests")

    assert refused.value.status == 403
    assert "exists on the upstream index" in refused.value.message
    assert "bastion names allow requests" in refused.value.message


def test_new_local_name_unknown_upstream_is_accepted(upstream):
    validate_new_project_name("our-own-thing")
    assert upstream.count("/simple/our-own-thing/") == 1


def test_excluded_names_are_accepted_without_asking_upstream(upstream, settings):
    settings.UPSTREAM_EXCLUDE = ["acme-*"]
    upstream.add_page("acme-app", [wheel_entry(upstream, "acme-app", "1.0")])

    validate_new_project_name("acme_app")

    assert upstream.requests == []


def test_name_cannot_be_checked_while_upstream_down_is_refused(upstream):
    upstream.stop()
    with pytest.raises(PackagingError) as refused:
        validate_new_project_name("brand-new")
    assert "cannot be checked against the upstream index" in refused.value.message


def test_names_allow_lets_the_name_be_created_and_is_recorded(upstream, capsys):
    upstream.add_page("requests", [wheel_entry(upstream, "requests", "2.32.0")])

    assert main(["names", "allow", "Requests", "--reason", "our fork, see TICKET-1"]) == 0

    validate_new_project_name("requests")
    allowed = AllowedName.objects.get()
    assert (allowed.normalized_name, allowed.reason) == ("requests", "our fork, see TICKET-1")
    event = SecurityEvent.objects.get(tag="upstream:name-allowed")
    assert event.additional["name"] == "requests"


def test_purge_drops_pages_files_and_rows(index, upstream, capsys):
    entry = wheel_entry(upstream, "demo", "1.0")
    upstream.add_page("demo", [entry])
    url = index.request("GET", "/simple/demo/", {"Accept": JSON_TYPE}).json()["files"][0]["url"]
    index.request("GET", url)

    assert main(["upstream", "purge", "demo"]) == 0

    assert f"1 file(s), {len(entry['_body'])} bytes" in capsys.readouterr().out
    assert not UpstreamProject.objects.exists()
    upstream.stop()
    assert index.request("GET", url).status == 404


def test_admin_lists_cached_upstream_projects_with_size_and_refresh(index, upstream, admin_client):
    entry = wheel_entry(upstream, "demo", "1.0")
    upstream.add_page("demo", [entry])
    url = index.request("GET", "/simple/demo/", {"Accept": JSON_TYPE}).json()["files"][0]["url"]
    index.request("GET", url)

    page = admin_client.get("/admin/upstream/upstreamproject/")

    assert page.status_code == 200
    text = page.content.decode()
    assert "demo" in text and str(len(entry["_body"])) in text
    assert UpstreamProject.objects.get().refreshed_at is not None
