"""``bastion backup`` then ``bastion restore`` into a wiped data directory: the project installs."""

import shutil

import pytest

from tests.e2e.conftest import VENV_BIN, _start_server, _stop, clean_client_env, run
from tests.e2e.sample import build_project

pytestmark = pytest.mark.e2e


def test_a_restored_backup_serves_the_project_pip_installs(tmp_path):
    built = build_project(tmp_path / "src", "kept-sample", "1.0")
    index = _start_server(tmp_path)
    try:
        token = index.user_with_token("rhea")
        assert index.twine_upload(token, built.wheel, built.sdist).returncode == 0
    finally:
        _stop(index.process)
    backup = tmp_path / "backup"
    made = index.bastion("backup", str(backup))
    assert "then 3 files" in made.stdout  # the wheel, its .metadata and the sdist

    shutil.rmtree(index.data_dir)
    restored = index.bastion("restore", str(backup))
    assert "Restored the sqlite database and 3 files" in restored.stdout
    again = index.bastion("restore", str(backup), check=False)
    assert again.returncode == 1 and "already holds an installation" in again.stderr

    index = _start_server(tmp_path)
    try:
        env = clean_client_env()
        run([str(VENV_BIN / "python"), "-m", "venv", str(tmp_path / "venv")], env=env)
        install = run(
            [str(tmp_path / "venv" / "bin" / "pip"), "install", "--no-cache-dir",
             "--index-url", index.simple_url, "kept-sample==1.0"],
            env=env,
        )  # fmt: skip
        assert install.returncode == 0, install.output
        assert index.bastion("users", "show", "rhea").returncode == 0
    finally:
        _stop(index.process)
