"""A live Bastion on the loopback, and the real clients that talk to it.

The server runs as ``bastion serve`` in a subprocess with its own data directory, exactly as an
operator would start it. Clients run with a scrubbed environment: this machine configures pip
globally with local wheel folders, and a test that let pip read them could pass without ever
touching Bastion.
"""

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import boto3
import pytest
import requests

VENV_BIN = Path(sys.executable).parent
BUCKET = "bastion-e2e"
AWS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def clean_client_env(**extra: str) -> dict[str, str]:
    """The environment for pip, uv and twine: no machine-wide pip or uv configuration at all."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PIP_", "UV_", "TWINE_", "BASTION_"))
    }
    env["PIP_CONFIG_FILE"] = os.devnull
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    env["UV_NO_CONFIG"] = "1"
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    env.update(extra)
    return env


@dataclass
class LiveIndex:
    """A running server and the command line that operates it."""

    url: str
    data_dir: Path
    env: dict[str, str]
    process: subprocess.Popen = field(repr=False)

    @property
    def simple_url(self) -> str:
        return f"{self.url}/simple/"

    @property
    def upload_url(self) -> str:
        return f"{self.url}/legacy/"

    def bastion(self, *args: str, input: str | None = None, check: bool = True):
        """Run the ``bastion`` CLI against this server's data directory."""
        return subprocess.run(
            [str(VENV_BIN / "bastion"), *args],
            env=self.env,
            input=input or "",  # never the terminal: users create would ask for a password
            capture_output=True,
            text=True,
            check=check,
            timeout=120,
        )

    def user_with_token(self, name: str, project: str | None = None) -> str:
        """Create a verified user and return a token for it (scoped when ``project`` is given)."""
        self.bastion("users", "create", name, "--email", f"{name}@example.com", "--verified")
        return self.token(name, project)

    def twine_upload(
        self, token: str, *files: Path, username: str = "__token__", options: tuple[str, ...] = ()
    ):
        """Upload with the real twine, in a clean environment, as a maintainer would."""
        command = [str(VENV_BIN / "twine"), "upload", "--non-interactive", "--disable-progress-bar"]
        command += options
        command += ["--repository-url", self.upload_url, "-u", username, "-p", token]
        # twine wraps its error lines to the terminal width; a wide one keeps each on one line
        return run(command + [str(f) for f in files], env=clean_client_env(COLUMNS="300"))

    def python(self, code: str, *args: str) -> str:
        """Run Python with Django set up against this server's own database and data directory.

        ``args`` arrive in ``sys.argv[1:]``, so the code never has to splice values into itself.
        """
        result = subprocess.run(
            [str(VENV_BIN / "python"), "-c", "import django, sys\ndjango.setup()\n" + code, *args],
            env={**self.env, "DJANGO_SETTINGS_MODULE": "bastion.settings"},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr
        return result.stdout

    def token(self, name: str, project: str | None = None) -> str:
        args = ["tokens", "create", name] + (["--project", project] if project else [])
        return self.bastion(*args).stdout.strip()


def _start_server(tmp: Path, extra_env: dict[str, str] | None = None) -> LiveIndex:
    port = free_port()
    url = f"http://localhost:{port}"
    # pytest-django exports DJANGO_SETTINGS_MODULE=tests.settings; the server must use its own.
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("BASTION_") and key != "DJANGO_SETTINGS_MODULE"
    }
    env.update(
        BASTION_DATA_DIR=str(tmp / "data"),
        BASTION_BASE_URL=url,
        # Tests run the schedule's jobs themselves, when they choose; the built-in worker is
        # tested on its own (tests/e2e/test_quick_start.py).
        BASTION_WORKER="external",
        **{k: v for k, v in os.environ.items() if k == "BASTION_DATABASE_URL"},
    )
    env.update(extra_env or {})
    log = open(tmp / "server.log", "wb")  # noqa: SIM115 - closed when the process is reaped
    process = subprocess.Popen(
        [str(VENV_BIN / "bastion"), "serve", "--bind", f"127.0.0.1:{port}", "--workers", "2"],
        env=env,
        start_new_session=True,  # its own process group, so teardown can stop every worker
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError((tmp / "server.log").read_text())
        try:
            if requests.get(f"{url}/healthz", timeout=1).status_code == 200:
                return LiveIndex(url=url, data_dir=tmp / "data", env=env, process=process)
        except (requests.ConnectionError, requests.Timeout):  # a loaded machine answers late
            time.sleep(0.2)
    _stop(process)
    raise RuntimeError("bastion serve did not come up within 60 s")


@pytest.fixture(scope="module")
def live_index(tmp_path_factory):
    """A fresh server per test module: modules do not see each other's projects or users."""
    index = _start_server(tmp_path_factory.mktemp("live"))
    yield index
    _stop(index.process)


def _stop(process: subprocess.Popen) -> None:
    """SIGTERM as an operator would, then make sure no worker outlives the test run."""
    process.terminate()
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=20)  # longer than the server's 15 s mercy for busy workers
    with contextlib.suppress(ProcessLookupError):  # the whole group may be gone already
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


@pytest.fixture(scope="module")
def s3_endpoint(tmp_path_factory):
    """moto_server on a free loopback port, with an empty bucket."""
    port = free_port()
    log = open(tmp_path_factory.mktemp("moto") / "moto.log", "wb")  # noqa: SIM115
    process = subprocess.Popen(
        [str(VENV_BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            requests.get(f"{endpoint}/moto-api/", timeout=1)
            break
        except requests.ConnectionError:
            if time.monotonic() > deadline or process.poll() is not None:
                raise
            time.sleep(0.2)
    boto3.client("s3", endpoint_url=endpoint, **s3_credentials()).create_bucket(Bucket=BUCKET)
    yield endpoint
    _stop(process)
    log.close()


def s3_credentials() -> dict:
    return {
        "aws_access_key_id": AWS["AWS_ACCESS_KEY_ID"],
        "aws_secret_access_key": AWS["AWS_SECRET_ACCESS_KEY"],
        "region_name": AWS["AWS_DEFAULT_REGION"],
    }


@pytest.fixture
def client_env():
    return clean_client_env()


def run(cmd: list[str], *, env: dict[str, str], cwd: Path | None = None, timeout: int = 300):
    """Run a client command, capturing what a user would see on the terminal."""
    result = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    result.output = result.stdout + result.stderr
    return result
