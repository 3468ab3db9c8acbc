"""poetry, pdm and hatch publish to the index and install from it, unchanged and offline.

Each tool runs with a home directory of its own, so no user or machine configuration leaks in,
and with virtualenv's periodic update of its seed wheels off: the only server any of them talks
to is the live index on the loopback.
"""

import textwrap
from pathlib import Path

import pytest

from tests.e2e.conftest import VENV_BIN, clean_client_env, run
from tests.e2e.sample import build_project

pytestmark = pytest.mark.e2e

PUBLISHERS = ("poetry", "pdm", "hatch")


def tool_env(home: Path, **extra: str) -> dict[str, str]:
    home.mkdir(parents=True, exist_ok=True)
    return clean_client_env(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / ".config"),
        XDG_CACHE_HOME=str(home / ".cache"),
        XDG_DATA_HOME=str(home / ".local" / "share"),
        XDG_STATE_HOME=str(home / ".local" / "state"),
        VIRTUALENV_NO_PERIODIC_UPDATE="1",
        PDM_CHECK_UPDATE="false",
        POETRY_VIRTUALENVS_IN_PROJECT="true",
        NO_COLOR="1",
        **extra,
    )


def publish(tool: str, live_index, token: str, built, home: Path):
    """The command line each tool's documentation gives for a custom repository."""
    upload_url = f"{live_index.url}/legacy/"
    source = built.wheel.parent.parent
    if tool == "poetry":
        env = tool_env(
            home,
            POETRY_REPOSITORIES_BASTION_URL=upload_url,
            POETRY_HTTP_BASIC_BASTION_USERNAME="__token__",
            POETRY_HTTP_BASIC_BASTION_PASSWORD=token,
        )
        return run([str(VENV_BIN / "poetry"), "publish", "-r", "bastion"], env=env, cwd=source)
    if tool == "pdm":
        command = [str(VENV_BIN / "pdm"), "publish", "--no-build", "-r", upload_url,
                   "-u", "__token__", "-P", token]  # fmt: skip
        return run(command, env=tool_env(home), cwd=source)
    command = [str(VENV_BIN / "hatch"), "publish", "-r", upload_url, "-u", "__token__",
               "-a", token, "--no-prompt", str(built.wheel), str(built.sdist)]  # fmt: skip
    return run(command, env=tool_env(home), cwd=source)


@pytest.fixture(scope="module")
def published(live_index, tmp_path_factory):
    """One project published by each tool, with one user-wide token."""
    root = tmp_path_factory.mktemp("other-clients")
    token = live_index.user_with_token("paula")
    outputs = {}
    for tool in PUBLISHERS:
        built = build_project(root / tool, f"{tool}-published", "1.0")
        outputs[tool] = publish(tool, live_index, token, built, root / f"{tool}-home")
    return root, outputs


@pytest.mark.parametrize("tool", PUBLISHERS)
def test_each_tool_publishes_a_wheel_and_an_sdist(live_index, published, tool):
    root, outputs = published
    assert outputs[tool].returncode == 0, outputs[tool].output
    download = run(
        [str(VENV_BIN / "python"), "-m", "pip", "download", "--no-deps", "--no-cache-dir",
         "--index-url", live_index.simple_url, "-d", str(root / f"{tool}-check"),
         f"{tool}-published==1.0"],
        env=clean_client_env(),
    )  # fmt: skip
    assert download.returncode == 0, download.output
    assert [p.name for p in (root / f"{tool}-check").iterdir()] == [
        f"{tool}_published-1.0-py3-none-any.whl"
    ]


def consumer(directory: Path, sources: str) -> Path:
    directory.mkdir()
    dependencies = ", ".join(f'"{tool}-published==1.0"' for tool in PUBLISHERS)
    (directory / "pyproject.toml").write_text(
        textwrap.dedent(
            f"""
            [project]
            name = "consumer"
            version = "0.1.0"
            requires-python = ">=3.9"
            dependencies = [{dependencies}]
            """
        )
        + textwrap.dedent(sources)
    )
    return directory


def imports_every_published_module(python: Path) -> None:
    modules = [f"{tool}_published" for tool in PUBLISHERS]
    code = f"import {', '.join(modules)}; print({', '.join(m + '.VERSION' for m in modules)})"
    check = run([str(python), "-c", code], env=clean_client_env())
    assert check.returncode == 0, check.output
    assert check.stdout.split() == ["1.0"] * len(PUBLISHERS)


def test_poetry_installs_from_the_index_as_its_primary_source(live_index, published):
    root, _outputs = published
    project = consumer(
        root / "poetry-consumer",
        f"""
        [tool.poetry]
        package-mode = false

        [[tool.poetry.source]]
        name = "bastion"
        url = "{live_index.simple_url}"
        priority = "primary"
        """,
    )
    env = tool_env(root / "poetry-install-home")
    result = run([str(VENV_BIN / "poetry"), "install"], env=env, cwd=project)
    assert result.returncode == 0, result.output
    assert (project / "poetry.lock").is_file()
    imports_every_published_module(project / ".venv" / "bin" / "python")


def test_pdm_installs_from_the_index_in_place_of_pypi(live_index, published):
    root, _outputs = published
    project = consumer(
        root / "pdm-consumer",
        f"""
        [[tool.pdm.source]]
        name = "pypi"
        url = "{live_index.simple_url}"
        """,
    )
    env = tool_env(root / "pdm-install-home")
    result = run([str(VENV_BIN / "pdm"), "install", "--no-self"], env=env, cwd=project)
    assert result.returncode == 0, result.output
    assert (project / "pdm.lock").is_file()
    imports_every_published_module(project / ".venv" / "bin" / "python")
