"""The quick start's server on its own: what it prints, and downloads counted with no other command.

Every other end-to-end test runs the schedule's jobs itself (``BASTION_WORKER=external``); this one
runs ``bastion serve`` exactly as the README's first command does, built-in worker included.
"""

import time

import pytest
import requests

from tests.e2e.conftest import VENV_BIN, _start_server, _stop, clean_client_env, run
from tests.e2e.sample import build_project

pytestmark = pytest.mark.e2e

#: The default rollup cadence (30 s), a scheduler tick and a recorder flush, with room to spare.
COUNTED_WITHIN_SECONDS = 60


@pytest.fixture(scope="module")
def quick_start(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("quick-start")
    index = _start_server(tmp, extra_env={"BASTION_WORKER": "builtin"})
    yield index, tmp / "server.log"
    _stop(index.process)


def _installer_downloads(index, name: str) -> int:
    reply = requests.get(f"{index.url}/stats/project/{name}.json", timeout=10)
    return sum(day["installer"] for day in reply.json()["data"])


def test_a_pip_install_is_counted_on_the_project_page_within_a_minute(quick_start, tmp_path):
    index, _log = quick_start
    built = build_project(tmp_path / "src", "quick-counted", "1.0")
    assert index.twine_upload(index.user_with_token("quinn"), built.wheel).returncode == 0

    install = run(
        [str(VENV_BIN / "pip"), "install", "--no-cache-dir", "--no-deps", "--target",
         str(tmp_path / "target"), "--index-url", index.simple_url, "quick-counted==1.0"],
        env=clean_client_env(),
    )  # fmt: skip
    assert install.returncode == 0, install.output

    deadline = time.monotonic() + COUNTED_WITHIN_SECONDS
    while _installer_downloads(index, "quick-counted") == 0:
        assert time.monotonic() < deadline, "the install was not counted within a minute"
        time.sleep(1)
    assert _installer_downloads(index, "quick-counted") == 1
    page = requests.get(f"{index.url}/project/quick-counted/", timeout=10).text
    assert "quick-counted" in page


def test_serve_prints_where_it_listens_and_an_access_log_without_uwsgi_chatter(quick_start):
    index, log = quick_start
    requests.get(f"{index.simple_url}", headers={"User-Agent": "access-log-probe"}, timeout=10)
    deadline = time.monotonic() + 10
    while "access-log-probe" not in log.read_text():
        assert time.monotonic() < deadline, log.read_text()
        time.sleep(0.2)

    lines = log.read_text().splitlines()
    assert lines[0].startswith("Bastion listening on http://127.0.0.1:")
    assert "worker: built in" in lines[0]
    probe = next(line for line in lines if "access-log-probe" in line)
    assert '"GET /simple/ HTTP/1.1" 200 ' in probe
    assert not [line for line in lines if "uWSGI" in line or "uwsgi" in line]
