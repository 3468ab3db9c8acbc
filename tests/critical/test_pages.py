"""Where people see the designation: the project page, the JSON API, /stats/, the banner."""

import re

import pytest
from django.urls import reverse

from bastion.critical import services
from bastion.critical.models import StatsSnapshot
from tests.factories import add_file, add_release, attest

pytestmark = pytest.mark.django_db


@pytest.fixture
def widget(make_project, alice):
    project = make_project("widget", owners=[alice])
    add_release(project, "1.0")
    return project


def test_project_page_carries_the_badge_and_says_why_and_when(client, widget, designate):
    page = client.get(reverse("project", args=["widget"])).content.decode()
    assert "critical project" not in page
    designation = designate("widget", enforced=False)
    page = client.get(reverse("project", args=["widget"])).content.decode()
    assert '<span class="badge critical"' in page
    assert "designated by the admin root: test" in page
    assert f"From {designation.enforcement_date.isoformat()}, every owner" in page


def test_json_api_says_critical_and_since_when(client, widget, designate):
    info = client.get("/pypi/widget/json").json()["info"]
    assert info["critical"] is False and info["critical_since"] is None
    designation = designate("widget")
    info = client.get("/pypi/widget/json").json()["info"]
    assert info["critical"] is True
    assert info["critical_since"] == designation.designated_at.date().isoformat()
    assert info["critical_enforcement_date"] == designation.enforcement_date.isoformat()


def test_stats_page_shows_the_numbers_and_an_svg_history_without_scripts(
    client, widget, designate, enrol_totp, alice
):
    designate("widget")
    services.snapshot_stats()
    enrol_totp(alice)
    StatsSnapshot.objects.create(
        day="2026-01-01",
        numbers={"critical_accounts_2fa_share": 0.25, "other_accounts_2fa_share": 0.05},
    )
    response = client.get("/stats/")
    page = response.content.decode()
    assert response.status_code == 200
    assert "<svg" in page and "<polyline" in page and "<script" not in page
    assert "Critical projects" in page and ">1<" in page
    assert "100.0%" in page  # alice, the only critical account, now has 2FA


def test_stats_page_shows_the_share_of_files_with_attestations(client, widget, designate):
    release = widget.releases.get()
    attest(add_file(release, "widget-1.0.tar.gz"))
    add_file(release, "widget-1.0-py3-none-any.whl")
    designate("widget")

    page = " ".join(client.get("/stats/").content.decode().split())

    assert "Files with attestations" in page
    assert (
        '<th scope="row">Critical projects</th><td data-label="Files">2</td>'
        '<td data-label="With attestations">1</td><td data-label="Share">50.0%</td>'
    ) in page
    # On a phone the tables stack, each cell labelled from data-label (UI review finding: the
    # figures stood there with nothing saying which was which).
    for row in re.findall(r"<tr>(.*?)</tr>", page):
        cells = re.findall(r"<td[^>]*>", row)
        assert len(cells) < 2 or all("data-label=" in cell for cell in cells), row


def test_banner_warns_a_maintainer_without_2fa_on_every_page(client, widget, designate, alice):
    client.force_login(alice)
    assert "critical" not in client.get("/").content.decode().lower()
    designation = designate("widget", enforced=False)
    page = client.get("/").content.decode()
    assert 'class="banner critical-banner"' in page
    assert "widget" in page and designation.enforcement_date.isoformat() in page
    designation.enforcement_date = designation.enforcement_date.replace(year=2000)
    designation.save()
    page = client.get("/").content.decode()
    assert "refused" in page


def test_bus_factor_admin_view_lists_single_maintainer_critical_projects(
    client, admin_client, widget, make_project, make_user, alice, designate
):
    bob = make_user("bob")
    make_project("shared", owners=[alice], maintainers=[bob])
    designate("widget")
    designate("shared")
    url = "/admin/critical/designation/bus-factor/"
    client.force_login(alice)
    assert client.get(url).status_code in (302, 403)
    page = admin_client.get(url).content.decode()
    assert "widget" in page and "alice" in page and "shared" not in page
