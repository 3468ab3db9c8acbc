"""Downloads counted end to end: a real pip install, and a mirror that must not be ranked."""

import json
import time

import pytest
import requests

from tests.e2e.conftest import VENV_BIN, clean_client_env, run
from tests.e2e.sample import build_project

pytestmark = pytest.mark.e2e

RANKING = """
import datetime, json, django
django.setup()
from django.utils import timezone
from bastion.downloads.services import installer_downloads
today = timezone.now().date()
print(json.dumps(installer_downloads(today - datetime.timedelta(days=1), today)))
"""


def _segment_rows(live_index, filename: str, deadline_s: float = 30) -> list[dict]:
    """Wait for the server's recorder to flush (every 5 s by default), then read what it wrote."""
    segments = live_index.data_dir / "downloads" / "segments"
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        rows = [
            json.loads(line)
            for segment in sorted(segments.glob("*.jsonl"))
            for line in segment.read_text().splitlines()
        ]
        if any(row["file"]["filename"] == filename for row in rows):
            return rows
        time.sleep(0.2)
    raise AssertionError(f"no download of {filename} was recorded within {deadline_s} s")


def _rollup_and_ranking(live_index) -> dict[str, int]:
    live_index.bastion("downloads", "rollup")
    env = dict(live_index.env, DJANGO_SETTINGS_MODULE="bastion.settings")
    ranking = run([str(VENV_BIN / "python"), "-c", RANKING], env=env)
    assert ranking.returncode == 0, ranking.output
    return json.loads(ranking.stdout)


def test_pip_install_counts_as_an_installer_download_and_a_mirror_does_not(live_index, tmp_path):
    built = build_project(tmp_path / "src", "counted-sample", "1.0")
    env = clean_client_env()
    token = live_index.user_with_token("dora")
    assert live_index.twine_upload(token, built.wheel, built.sdist).returncode == 0

    run([str(VENV_BIN / "python"), "-m", "venv", str(tmp_path / "venv")], env=env)
    pip = tmp_path / "venv" / "bin" / "pip"
    install = run(
        [str(pip), "install", "--no-cache-dir", "--index-url", live_index.simple_url,
         "counted-sample==1.0"],
        env=env,
    )  # fmt: skip
    assert install.returncode == 0, install.output

    rows = _segment_rows(live_index, built.wheel.name)
    (row,) = [r for r in rows if r["file"]["filename"] == built.wheel.name]
    assert row["file"]["project"] == "counted-sample"
    assert row["file"]["version"] == "1.0"
    assert row["details"]["installer"]["name"] == "pip"
    assert _rollup_and_ranking(live_index) == {"counted-sample": 1}

    files = requests.get(
        f"{live_index.simple_url}counted-sample/",
        headers={"Accept": "application/vnd.pypi.simple.v1+json"},
        timeout=10,
    ).json()["files"]
    sdist_url = next(f["url"] for f in files if f["filename"] == built.sdist.name)
    mirror = requests.get(
        requests.compat.urljoin(live_index.simple_url + "counted-sample/", sdist_url),
        headers={"User-Agent": "bandersnatch/6.5.0 (CPython 3.12.3-final0, Linux x86_64)"},
        timeout=10,
    )
    assert mirror.status_code == 200
    _segment_rows(live_index, built.sdist.name)
    assert _rollup_and_ranking(live_index) == {"counted-sample": 1}

    stats = requests.get(f"{live_index.url}/stats/project/counted-sample.json", timeout=10).json()
    assert stats["data"][-1]["installer"] == 1
    assert stats["data"][-1]["mirror"] == 1
    assert stats["recent"]["last_day"] == 1
