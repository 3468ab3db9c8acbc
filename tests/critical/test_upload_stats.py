"""/stats/ and ``bastion stats`` count files by how their upload authenticated: uploads through the
real upload view with a person's API token and with a trusted publisher's traded token."""

import json

import pytest
from django.test import Client

from bastion import authz
from bastion.cli import main
from bastion.packaging.models import File
from bastion.tokens.services import create_token
from tests.factories import add_release
from tests.publishing.conftest import trade
from tests.upload import dists
from tests.upload.conftest import Uploader

pytestmark = pytest.mark.django_db


@pytest.fixture
def uploads(exchange, make_project, designate, enrol_totp, alice):
    """Critical 'widget': one file from its publisher, one from Alice's token. 'gadget': two
    from her token and one whose upload left no record (a factory file)."""
    widget = make_project("widget", owners=[alice])
    gadget = make_project("gadget", owners=[alice])
    add_release(gadget, "0.1", "gadget-0.1.tar.gz")
    designate("widget")
    enrol_totp(alice)  # her own token may upload to a critical project
    publisher = Uploader(Client(), alice, trade(exchange, widget))
    person = Uploader(Client(), alice, create_token(actor=authz.Actor(alice), name="t").secret)
    for uploader, dist in [
        (publisher, dists.wheel("widget", "1.0")),
        (person, dists.sdist("widget", "1.0")),
        (person, dists.wheel("gadget", "1.0")),
        (person, dists.sdist("gadget", "1.0")),
    ]:
        response = uploader.upload(dist.form())
        assert response.status_code == 200, response.reason_phrase


def _stats(capsys, *args: str) -> str:
    assert main(["stats", *args]) == 0
    return capsys.readouterr().out


def test_each_upload_records_how_it_authenticated(uploads):
    methods = dict(File.objects.values_list("filename", "uploaded_via"))

    assert methods == {
        "widget-1.0-py3-none-any.whl": "trusted_publisher",
        "widget-1.0.tar.gz": "api_token",
        "gadget-1.0-py3-none-any.whl": "api_token",
        "gadget-1.0.tar.gz": "api_token",
        "gadget-0.1.tar.gz": "unknown",
    }


def test_stats_json_counts_files_by_upload_method_overall_and_on_critical_projects(uploads, capsys):
    numbers = json.loads(_stats(capsys, "--json"))["uploads"]

    assert numbers["all_projects"] == {
        "files": 5,
        "by_method": {
            "trusted_publisher": {"files": 1, "share": 0.2},
            "api_token": {"files": 3, "share": 0.6},
            "unknown": {"files": 1, "share": 0.2},
        },
    }
    assert numbers["critical_projects"] == {
        "files": 2,
        "by_method": {
            "trusted_publisher": {"files": 1, "share": 0.5},
            "api_token": {"files": 1, "share": 0.5},
            "unknown": {"files": 0, "share": 0.0},
        },
    }


def test_stats_text_prints_files_by_upload_method(uploads, capsys):
    out = _stats(capsys)

    all_projects, critical = out.split("Files on all projects: 5")[1].split(
        "Files on critical projects: 2"
    )
    assert "Trusted publisher: 1 (20.0%)" in all_projects
    assert "API token: 3 (60.0%)" in all_projects
    assert "Not recorded: 1 (20.0%)" in all_projects
    assert "Trusted publisher: 1 (50.0%)" in critical
    assert "API token: 1 (50.0%)" in critical
    assert "Not recorded" not in critical


def test_stats_page_shows_files_by_upload_method(uploads, client):
    page = client.get("/stats/").content.decode()

    assert "How files were uploaded" in page
    assert "Files on all projects (5)" in page and "Files on critical projects (2)" in page
    assert (
        '<tr><th scope="row">Trusted publisher</th>'
        '<td data-label="Files on all projects">1 (20.0%)</td>'
        '<td data-label="Files on critical projects">1 (50.0%)</td></tr>' in page
    )
    assert (
        '<tr><th scope="row">API token</th><td data-label="Files on all projects">3 (60.0%)</td>'
        '<td data-label="Files on critical projects">1 (50.0%)</td></tr>'
    ) in page
    assert (
        '<tr><th scope="row">Not recorded</th><td data-label="Files on all projects">1 (20.0%)</td>'
        '<td data-label="Files on critical projects">0 (0.0%)</td></tr>'
    ) in page


def test_stats_page_leaves_out_not_recorded_when_every_file_has_its_method(
    exchange, make_project, alice, client
):
    widget = make_project("widget", owners=[alice])
    Uploader(Client(), alice, trade(exchange, widget)).upload(dists.wheel("widget", "1.0").form())

    page = client.get("/stats/").content.decode()

    assert '<td data-label="Files on all projects">1 (100.0%)</td>' in page
    assert "Not recorded" not in page
