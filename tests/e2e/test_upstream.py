"""One index URL for everything an organisation installs: private projects and, through
Bastion's cache, the public ones, with dependency confusion impossible by construction.

Two servers on the loopback: an "upstream" Bastion holding real wheels of ``requests`` and its
dependencies (downloaded from PyPI once, cached like ``tests.pypi_files``), and the
organisation's Bastion with ``BASTION_UPSTREAM_URL`` pointing at it.
"""

import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from tests.e2e.conftest import (
    VENV_BIN,
    LiveIndex,
    _start_server,
    _stop,
    clean_client_env,
    run,
)
from tests.e2e.sample import build_project
from tests.pypi_files import PYPI_SIMPLE, cache_dir
from tests.tools import missing

pytestmark = pytest.mark.e2e


@dataclass
class Pair:
    upstream: LiveIndex
    bastion: LiveIndex
    tmp: Path
    pip: Path


REQUIREMENT = "requests==2.32.5"
PUBLIC_MODULES = ["requests", "urllib3", "idna", "certifi", "charset_normalizer"]
JSON_TYPE = "application/vnd.pypi.simple.v1+json"


def _public_wheels(pip: Path, tmp: Path) -> list[Path]:
    """``requests`` and its dependencies as wheels, downloaded by pip once and kept."""
    cached = cache_dir().parent / f"upstream-{REQUIREMENT.replace('==', '-')}"
    if (cached / ".complete").exists():
        return sorted(cached.glob("*.whl"))
    download = tmp / "download"
    result = run(
        [
            *(str(pip), "download", REQUIREMENT, "-d", str(download)),
            *("--only-binary=:all:", "--index-url", f"{PYPI_SIMPLE}/"),
        ],
        env=clean_client_env(),
    )
    if result.returncode != 0:
        missing(f"PyPI, to download {REQUIREMENT} and its dependencies ({result.output[-300:]}),")
    staging = cached.with_name(f".{cached.name}.partial")
    shutil.rmtree(staging, ignore_errors=True)
    shutil.copytree(download, staging)
    (staging / ".complete").touch()
    shutil.rmtree(cached, ignore_errors=True)
    staging.rename(cached)  # atomic: a parallel run never sees half the set
    return sorted(cached.glob("*.whl"))


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("upstream-pair")
    # pip from a venv of its own: the test environment has none (uv installed it).
    subprocess.run([sys.executable, "-m", "venv", str(tmp / "pip-venv")], check=True, timeout=120)
    pip = tmp / "pip-venv" / "bin" / "pip"
    wheels = _public_wheels(pip, tmp)
    for directory in ("upstream", "bastion"):
        (tmp / directory).mkdir()
    upstream = _start_server(tmp / "upstream")
    bastion = None
    try:
        uploaded = upstream.twine_upload(upstream.user_with_token("pypa"), *wheels)
        assert uploaded.returncode == 0, uploaded.output
        left_pad = build_project(tmp / "public", "left-pad", "2.0")
        assert upstream.twine_upload(upstream.token("pypa"), left_pad.wheel).returncode == 0
        bastion = _start_server(
            tmp / "bastion",
            {
                "BASTION_UPSTREAM_URL": upstream.simple_url,
                "BASTION_UPSTREAM_EXCLUDE": "acme-*",
                "BASTION_UPSTREAM_PAGE_TTL": "0",  # revalidate every time: exercises the ETag
            },
        )
        acme = build_project(tmp / "private", "acme-app", "1.0", dependencies=["requests"])
        published = bastion.twine_upload(bastion.user_with_token("acme"), acme.wheel)
        assert published.returncode == 0, published.output
        yield Pair(upstream, bastion, tmp, pip)
    finally:
        for server in (bastion, upstream):
            if server is not None:
                _stop(server.process)


def _pip_install(pair: "Pair", target: Path, *requirements: str):
    """pip with a fresh client cache (none at all), as a new laptop or CI runner would."""
    return run(
        [
            *(str(pair.pip), "install", "--no-cache-dir", "--target", str(target)),
            *("--index-url", pair.bastion.simple_url, *requirements),
        ],
        env=clean_client_env(),
    )


def _installed(target) -> set[str]:
    return {path.name for path in target.iterdir()}


def test_local_name_like_an_upstream_one_is_refused_until_allowed_then_only_local(servers):
    bastion = servers.bastion
    local = build_project(servers.tmp / "shadow", "left-pad", "1.0")
    token = bastion.user_with_token("insider")

    refused = bastion.twine_upload(token, local.wheel)
    assert refused.returncode != 0
    assert "exists on the upstream index" in refused.output and "left-pad" in refused.output

    bastion.bastion("names", "allow", "left-pad", "--reason", "our own left-pad, see SEC-12")
    accepted = bastion.twine_upload(token, local.wheel)
    assert accepted.returncode == 0, accepted.output

    page = requests.get(f"{bastion.simple_url}left-pad/", headers={"Accept": JSON_TYPE}, timeout=30)
    assert [f["filename"] for f in page.json()["files"]] == [local.wheel.name]
    assert "X-Bastion-Upstream" not in page.headers
    pip = _pip_install(servers, servers.tmp / "left-pad-target", "left-pad")
    assert pip.returncode == 0, pip.output
    assert (servers.tmp / "left-pad-target" / "left_pad-1.0.dist-info").is_dir()  # not 2.0


def test_one_index_url_installs_everything_and_survives_the_upstream_going_down(servers):
    bastion, tmp = servers.bastion, servers.tmp

    pip = _pip_install(servers, tmp / "pip-target", "acme-app")
    assert pip.returncode == 0, pip.output
    assert {"acme_app", *PUBLIC_MODULES} <= _installed(tmp / "pip-target")
    assert servers.upstream.url not in pip.output  # every download came from Bastion

    uv = run(
        [
            *(str(VENV_BIN / "uv"), "pip", "install", "--python", str(VENV_BIN / "python")),
            *("--target", str(tmp / "uv-target"), "--index-url", bastion.simple_url, "acme-app"),
        ],
        env=clean_client_env(UV_CACHE_DIR=str(tmp / "uv-cache")),
    )
    assert uv.returncode == 0, uv.output
    assert {"acme_app", *PUBLIC_MODULES} <= _installed(tmp / "uv-target")

    _stop(servers.upstream.process)
    page = requests.get(f"{bastion.simple_url}requests/", headers={"Accept": JSON_TYPE}, timeout=30)
    assert page.headers["X-Bastion-Upstream"] == "stale"
    again = _pip_install(servers, tmp / "pip-target-2", "acme-app")
    assert again.returncode == 0, again.output
    assert {"acme_app", *PUBLIC_MODULES} <= _installed(tmp / "pip-target-2")
