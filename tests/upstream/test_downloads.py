"""Downloads of files served from the upstream cache are counted in a class of their own."""

import json

import pytest

from bastion.cli import main
from bastion.downloads import recorder, services
from bastion.downloads.useragents import UPSTREAM
from bastion.upstream.selectors import most_installed
from tests.simple import factory
from tests.upstream.conftest import JSON_TYPE, wheel_entry

pytestmark = pytest.mark.django_db(transaction=True)
PIP = "pip/24.2"


@pytest.fixture
def own_data_dir(settings, tmp_path):
    settings.DATA_DIR = tmp_path / "data"
    settings.DATA_DIR.mkdir()


def _download(index, url: str, times: int) -> None:
    for _ in range(times):
        assert index.request("GET", url, {"User-Agent": PIP}).status == 200


def _first_url(index, name: str) -> str:
    page = index.request("GET", f"/simple/{name}/", {"Accept": JSON_TYPE})
    return page.json()["files"][0]["url"]


def test_upstream_projects_the_organisation_installs_most_are_ranked_and_flagged(
    own_data_dir,
    index,
    upstream,
    committed,
    designate,
    capsys,
):
    for name in ("requests", "idna"):
        upstream.add_page(name, [wheel_entry(upstream, name, "1.0")])
    with committed():
        factory.make_file(factory.make_release(factory.make_project("acme-app"), "1.0"))
    _download(index, _first_url(index, "requests"), 3)
    _download(index, _first_url(index, "idna"), 1)
    _download(index, _first_url(index, "acme-app"), 5)
    designate("requests")
    recorder.flush()
    services.rebuild_rollup()

    assert most_installed() == [
        {"name": "requests", "downloads": 3, "critical": True},
        {"name": "idna", "downloads": 1, "critical": False},
    ]
    today_counts = services.installer_downloads(*[services._today()] * 2)
    assert today_counts == {"acme-app": 5}  # the critical ranking sees local installs only
    assert services.class_downloads(*[services._today()] * 2, UPSTREAM)["requests"] == 3

    assert main(["stats", "--json"]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert stats["upstream_most_installed"][0] == {
        "name": "requests",
        "downloads": 3,
        "critical": True,
    }
