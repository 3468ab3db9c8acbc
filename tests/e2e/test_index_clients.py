"""The index core, driven by the clients people already use: build, twine, pip, uv, pypi-simple."""

import os
import re
import shlex
import zipfile
from html import unescape
from pathlib import Path

import pytest
import requests
from pypi_simple import ACCEPT_JSON_ONLY, PyPISimple

from tests.e2e.conftest import VENV_BIN, clean_client_env, run
from tests.e2e.sample import build_project

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def dists(tmp_path_factory):
    root = tmp_path_factory.mktemp("dists")
    return {
        "first": build_project(root / "a", "bastion-sample", "1.0"),
        "second": build_project(root / "b", "bastion-sample", "1.1"),
        "other": build_project(root / "c", "other-sample", "0.1"),
        "uv": build_project(root / "d", "uv-published", "2.0"),
    }


@pytest.fixture(scope="module")
def published(live_index, dists):
    """alice creates bastion-sample with a user-wide token, then mints a project-scoped one."""
    env = clean_client_env(COLUMNS="200")  # twine wraps its error lines to the terminal width
    user_token = live_index.user_with_token("alice")
    result = live_index.twine_upload(user_token, dists["first"].wheel, dists["first"].sdist)
    assert result.returncode == 0, result.output
    return {"env": env, "project_token": live_index.token("alice", "bastion-sample")}


def fresh_venv(path: Path, env) -> Path:
    run([str(VENV_BIN / "python"), "-m", "venv", "--without-pip", str(path)], env=env)
    return path / "bin" / "python"


def test_twine_uploads_wheel_and_sdist_with_a_project_scoped_token(live_index, dists, published):
    result = live_index.twine_upload(
        published["project_token"], dists["second"].wheel, dists["second"].sdist
    )
    assert result.returncode == 0, result.output
    page = requests.get(f"{live_index.simple_url}bastion-sample/", timeout=10).text
    for built in (dists["first"], dists["second"]):
        assert built.wheel.name in page and built.sdist.name in page


def test_pip_installs_into_a_fresh_venv(live_index, published, tmp_path):
    env = published["env"]
    run([str(VENV_BIN / "python"), "-m", "venv", str(tmp_path / "venv")], env=env)
    pip = tmp_path / "venv" / "bin" / "pip"
    result = run(
        [
            str(pip),
            "install",
            "--no-cache-dir",
            "--index-url",
            live_index.simple_url,
            "bastion-sample==1.0",
        ],
        env=env,
    )
    assert result.returncode == 0, result.output
    assert "bastion_sample-1.0-py3-none-any.whl" in result.output
    check = run(
        [str(tmp_path / "venv/bin/python"), "-c", "import bastion_sample as m; print(m.VERSION)"],
        env=env,
    )
    assert check.stdout.strip() == "1.0"


def test_uv_pip_installs_into_a_fresh_venv(live_index, published, tmp_path):
    env = dict(published["env"], UV_CACHE_DIR=str(tmp_path / "uv-cache"))
    python = fresh_venv(tmp_path / "venv", env)
    result = run(
        [
            str(VENV_BIN / "uv"),
            "pip",
            "install",
            "--python",
            str(python),
            "--index-url",
            live_index.simple_url,
            "bastion-sample==1.0",
        ],
        env=env,
    )
    assert result.returncode == 0, result.output
    check = run([str(python), "-c", "import bastion_sample as m; print(m.VERSION)"], env=env)
    assert check.stdout.strip() == "1.0"


def test_uv_publish(live_index, dists, published, tmp_path):
    env = dict(published["env"], UV_CACHE_DIR=str(tmp_path / "uv-cache"))
    token = live_index.token("alice")
    result = run(
        [
            str(VENV_BIN / "uv"),
            "publish",
            "--publish-url",
            live_index.upload_url,
            "--token",
            token,
            str(dists["uv"].wheel),
            str(dists["uv"].sdist),
        ],
        env=env,
    )
    assert result.returncode == 0, result.output
    files = requests.get(f"{live_index.url}/pypi/uv-published/json", timeout=10).json()["urls"]
    assert {f["filename"] for f in files} == {dists["uv"].wheel.name, dists["uv"].sdist.name}


def test_identical_reupload_succeeds_and_changed_bytes_are_refused(
    live_index, dists, published, tmp_path
):
    token = published["project_token"]
    again = live_index.twine_upload(token, dists["first"].wheel)
    assert again.returncode == 0, again.output

    tampered = tmp_path / dists["first"].wheel.name
    with zipfile.ZipFile(dists["first"].wheel) as src, zipfile.ZipFile(tampered, "w") as out:
        for item in src.infolist():
            data = src.read(item)
            if item.filename.endswith("__init__.py"):
                data += b"# changed\n"
            out.writestr(item, data)
    conflict = live_index.twine_upload(token, tampered)
    assert conflict.returncode != 0
    assert "400" in conflict.output and "File already exists" in conflict.output


def test_token_scoped_to_another_project_is_refused(live_index, dists, published):
    bob_token = live_index.user_with_token("bob")
    created = live_index.twine_upload(bob_token, dists["other"].wheel)
    assert created.returncode == 0, created.output

    result = live_index.twine_upload(published["project_token"], dists["other"].sdist)
    assert result.returncode != 0
    assert "403" in result.output
    assert "scoped to project 'bastion-sample'" in result.output
    assert "other-sample" in result.output


def test_project_scoped_token_cannot_create_a_new_project(live_index, dists, published, tmp_path):
    brand_new = build_project(tmp_path, "brand-new-sample", "1.0")
    result = live_index.twine_upload(published["project_token"], brand_new.wheel)
    assert result.returncode != 0
    assert "403" in result.output and "cannot create a new project" in result.output
    assert requests.get(f"{live_index.simple_url}brand-new-sample/", timeout=10).status_code == 404


def test_pep691_json_parses_with_pypi_simple(live_index, dists, published):
    with PyPISimple(endpoint=live_index.simple_url, accept=ACCEPT_JSON_ONLY) as client:
        page = client.get_project_page("bastion-sample")
    assert page.project == "bastion-sample"
    assert page.repository_version == "1.4"
    wheel = next(p for p in page.packages if p.filename == dists["first"].wheel.name)
    assert wheel.version == "1.0" and wheel.package_type == "wheel"
    assert wheel.digests["sha256"] and wheel.has_metadata is True
    assert wheel.requires_python == ">=3.9" and wheel.size == dists["first"].wheel.stat().st_size


def test_metadata_file_equals_the_wheels_metadata(live_index, dists, published):
    wheel = dists["first"].wheel
    with zipfile.ZipFile(wheel) as archive:
        inside = archive.read("bastion_sample-1.0.dist-info/METADATA")
    with PyPISimple(endpoint=live_index.simple_url) as client:
        link = next(
            p
            for p in client.get_project_page("bastion-sample").packages
            if p.filename == wheel.name
        )
    served = requests.get(link.url + ".metadata", timeout=10)
    assert served.status_code == 200
    assert served.content == inside


def install_command_on_page(live_index, project: str, element_id: str) -> list[str]:
    """The install command as the project page shows it, split as a shell would."""
    html = requests.get(f"{live_index.url}/project/{project}/", timeout=10).text
    match = re.search(rf'<code id="{element_id}"[^>]*>([^<]+)</code>', html)
    assert match, f"no #{element_id} on the project page"
    return shlex.split(unescape(match.group(1)))


def test_the_install_command_copied_from_the_project_page_installs_from_this_index(
    live_index, published, tmp_path
):
    env = published["env"]
    run([str(VENV_BIN / "python"), "-m", "venv", str(tmp_path / "venv")], env=env)
    env = dict(env, PATH=f"{tmp_path / 'venv' / 'bin'}{os.pathsep}{env['PATH']}")
    pip = install_command_on_page(live_index, "bastion-sample", "install-pip")
    assert pip[:3] == ["pip", "install", "--index-url"] and pip[3] == live_index.simple_url
    target = tmp_path / "pip-target"
    result = run([*pip, "--no-cache-dir", "--target", str(target)], env=env)
    assert result.returncode == 0, result.output
    assert f"Looking in indexes: {live_index.simple_url}" in result.output
    assert list(target.glob("bastion_sample-*.dist-info")), result.output

    uv = install_command_on_page(live_index, "bastion-sample", "install-uv")
    assert uv[:4] == ["uv", "pip", "install", "--index-url"] and uv[4] == live_index.simple_url
    uv_target = tmp_path / "uv-target"
    uv_env = dict(published["env"], UV_CACHE_DIR=str(tmp_path / "uv-cache"))
    result = run(
        [*uv, "--target", str(uv_target), "--python", str(VENV_BIN / "python")], env=uv_env
    )
    assert result.returncode == 0, result.output
    assert list(uv_target.glob("bastion_sample-*.dist-info")), result.output
