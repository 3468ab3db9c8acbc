"""A private index (``BASTION_READ_ACCESS=authenticated``) driven by pip, uv and twine.

pip without credentials is refused with 401, so it would ask its keyring or the user; with a
read-only token in the index URL pip and uv install; the same token cannot upload.
"""

import pytest
import requests

from tests.e2e.conftest import VENV_BIN, _start_server, _stop, clean_client_env, run
from tests.e2e.sample import build_project

pytestmark = pytest.mark.e2e

PROJECT = "private-sample"


@pytest.fixture(scope="module")
def private_index(tmp_path_factory):
    index = _start_server(
        tmp_path_factory.mktemp("private"), extra_env={"BASTION_READ_ACCESS": "authenticated"}
    )
    yield index
    _stop(index.process)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("dists")
    return {
        "first": build_project(root / "a", PROJECT, "1.0"),
        "second": build_project(root / "b", PROJECT, "1.1"),
    }


@pytest.fixture(scope="module")
def published(private_index, built):
    """alice uploads with her upload token, as on a public index, and mints a read-only token."""
    upload_token = private_index.user_with_token("alice")
    result = private_index.twine_upload(upload_token, built["first"].wheel, built["first"].sdist)
    assert result.returncode == 0, result.output
    read_token = private_index.bastion("tokens", "create", "alice", "--read-only").stdout.strip()
    assert read_token.startswith("bastion-")
    return read_token


@pytest.fixture(scope="module")
def venv(tmp_path_factory):
    path = tmp_path_factory.mktemp("venv")
    run([str(VENV_BIN / "python"), "-m", "venv", str(path)], env=clean_client_env())
    return path


def index_url(index, token: str | None = None) -> str:
    return index.simple_url.replace("://", f"://__token__:{token}@") if token else index.simple_url


def pip_install(venv, url: str, requirement: str, *options: str):
    command = [str(venv / "bin" / "pip"), "install", "--no-cache-dir", "--no-input", *options]
    return run([*command, "--index-url", url, requirement], env=clean_client_env())


def test_pip_without_credentials_gets_401(private_index, published, venv):
    # pip reports a page it could not fetch only with -vv; without it, just "no versions".
    result = pip_install(venv, index_url(private_index), f"{PROJECT}==1.0", "-vv")
    assert result.returncode != 0
    assert "401 Client Error: Unauthorized" in result.output, result.output
    response = requests.get(f"{private_index.simple_url}{PROJECT}/", timeout=10)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Basic realm="Bastion"'


def test_pip_installs_with_a_read_only_token_in_the_index_url(private_index, published, venv):
    result = pip_install(venv, index_url(private_index, published), f"{PROJECT}==1.0")
    assert result.returncode == 0, result.output
    check = run(
        [str(venv / "bin" / "python"), "-c", "import private_sample as m; print(m.VERSION)"],
        env=clean_client_env(),
    )
    assert check.stdout.strip() == "1.0"


def test_uv_installs_with_a_read_only_token_in_the_index_url(private_index, published, tmp_path):
    env = clean_client_env(UV_CACHE_DIR=str(tmp_path / "uv-cache"))
    python = tmp_path / "venv" / "bin" / "python"
    run([str(VENV_BIN / "python"), "-m", "venv", "--without-pip", str(tmp_path / "venv")], env=env)
    command = [str(VENV_BIN / "uv"), "pip", "install", "--python", str(python)]
    result = run([*command, "--index-url", index_url(private_index, published), PROJECT], env=env)
    assert result.returncode == 0, result.output
    check = run([str(python), "-c", "import private_sample as m; print(m.VERSION)"], env=env)
    assert check.stdout.strip() == "1.0"


def test_a_read_only_token_cannot_upload(private_index, published, built):
    result = private_index.twine_upload(published, built["second"].wheel)
    assert result.returncode != 0
    assert "403" in result.output and "read-only" in result.output, result.output
    page = requests.get(
        f"{private_index.simple_url}{PROJECT}/", auth=("__token__", published), timeout=10
    )
    assert page.status_code == 200
    assert built["second"].wheel.name not in page.text
