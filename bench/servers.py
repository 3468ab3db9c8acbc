"""The four servers under test: how each one is installed, started, loaded and addressed.

Each server gets the same index (the same bytes) and is measured on its own, one after another,
so no two servers ever compete for the two cores.
"""

from __future__ import annotations

import getpass
import os
import shutil
import subprocess
import sys
import threading
import time
from abc import ABC, abstractmethod
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests
from dists import Dist, normalized, upload_form
from procs import Process, free_port

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
WORK = BENCH / "work"
BASTION_BIN = Path(sys.executable).parent  # run.py runs with the project's .venv interpreter

# Installed by ensure_venvs(); the same versions are recorded in the results.
VENVS = {
    "devpi": ["devpi-server", "devpi-client"],
    # waitress is what pypiserver's own "auto" server picks first; without it pypiserver falls
    # back to the single-threaded wsgiref server. watchdog enables its cached directory backend.
    "pypiserver": ["pypiserver[passlib,cache]", "waitress"],
    "clients": ["twine", "pip"],
}


def client_env(**extra: str) -> dict[str, str]:
    """No machine-wide pip, uv or twine configuration may leak into a measured client."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PIP_", "UV_", "TWINE_", "BASTION_"))
    }
    env["PIP_CONFIG_FILE"] = os.devnull
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    env.update(extra)
    return env


def venv_bin(name: str) -> Path:
    return WORK / f"venv-{name}" / "bin"


def ensure_venvs() -> None:
    """One virtualenv per competitor and one for the clients, installed from PyPI by name."""
    for name, packages in VENVS.items():
        target = WORK / f"venv-{name}"
        if not (target / "bin" / "python").exists():
            subprocess.run([sys.executable, "-m", "venv", str(target)], check=True)
        subprocess.run(
            [str(target / "bin" / "pip"), "install", "-q", "--upgrade", *packages],
            env=client_env(),
            check=True,
        )


def _output(argv: list[str], **kw) -> str:
    result = subprocess.run(argv, capture_output=True, text=True, **kw)
    return (result.stdout + result.stderr).strip()


def bulk_upload(url: str, auth: tuple[str, str], dists: list[Dist], threads: int) -> dict:
    """Load an index through its upload API, ``threads`` requests at a time."""
    local = threading.local()
    failures: list[str] = []

    def send(dist: Dist) -> None:
        if not hasattr(local, "session"):
            local.session = requests.Session()
            local.session.auth = auth
        data, files = upload_form(dist)
        for _attempt in range(3):
            try:
                response = local.session.post(url, data=data, files=files, timeout=120)
            except requests.ConnectionError:
                time.sleep(0.5)
                continue
            if response.status_code < 500:
                break
            time.sleep(0.5)
        if response.status_code != 200:
            failures.append(f"{dist.path.name}: {response.status_code} {response.reason}")

    started = time.monotonic()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(send, dists))
    seconds = time.monotonic() - started
    if failures:
        raise RuntimeError(f"{len(failures)} uploads failed, first: {failures[:3]}")
    return {"files": len(dists), "seconds": round(seconds, 2), "files_per_s": len(dists) / seconds}


class Server(ABC):
    """What the measurements need to know about a running index."""

    name = ""
    json_capable = True
    process: Process | None = None

    def __init__(self, work: Path):
        self.work = work / self.name
        if self.work.exists():
            shutil.rmtree(self.work)
        self.work.mkdir(parents=True)
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"

    simple_path = "/simple/"
    upload_path: str | None = None
    credentials: tuple[str, str] = ("", "")

    @property
    def simple_url(self) -> str:
        return self.base + self.simple_path

    def project_url(self, name: str) -> str:
        return f"{self.simple_url}{normalized(name)}/"

    @property
    def upload_url(self) -> str | None:
        return self.base + self.upload_path if self.upload_path else None

    @abstractmethod
    def start(self) -> None: ...

    @abstractmethod
    def load(self, dists: list[Dist], threads: int) -> dict: ...

    @abstractmethod
    def version(self) -> str: ...

    def stop(self) -> None:
        if self.process:
            self.process.stop()


class Bastion(Server):
    name = "bastion"
    upload_path = "/legacy/"

    def __init__(self, work: Path, workers: int | None):
        super().__init__(work)
        self.workers = workers
        self.data_dir = self.work / "data"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("BASTION_")}
        self.env.update(
            BASTION_DATA_DIR=str(self.data_dir),
            BASTION_BASE_URL=f"http://localhost:{self.port}",
            # Like nginx here (access_log off) and devpi: no per-request log, no background jobs.
            BASTION_ACCESS_LOG="0",
            BASTION_WORKER="external",
            # The load is one account creating 2,000 projects (10,000 files, 8 uploads at a
            # time) from one address: far past the defaults meant for people, as on PyPI.
            BASTION_RATELIMIT_PROJECTS_PER_USER="1000000/hour",
            BASTION_RATELIMIT_PROJECTS_PER_IP="1000000/hour",
            BASTION_RATELIMIT_UPLOADS_PER_USER="1000000/minute",
            # The same for uploads in flight (bastion.upload.admission): at most 2 from one
            # address by default, so the parallel loaders would get 503s.
            BASTION_UPLOADS_IN_FLIGHT_PER_ADDRESS="64",
            BASTION_UPLOADS_IN_FLIGHT="64",
        )

    def cli(self, *args: str) -> str:
        result = subprocess.run(
            [str(BASTION_BIN / "bastion"), *args],
            env=self.env,
            stdin=subprocess.DEVNULL,  # never the terminal: users create would ask for a password
            capture_output=True,
            text=True,
        )
        if result.returncode:
            raise RuntimeError(f"bastion {' '.join(args)} failed: {result.stderr.strip()}")
        return result.stdout.strip()

    def start(self) -> None:
        self.process = Process(
            [
                *(str(BASTION_BIN / "bastion"), "serve", "--bind", f"127.0.0.1:{self.port}"),
                *(("--workers", str(self.workers)) if self.workers else ()),
            ],
            log=self.work / "server.log",
            env=self.env,
        )
        self.process.wait_until_up(f"{self.base}/healthz")
        self.cli("users", "create", "bench", "--email", "bench@example.com", "--verified")
        self.credentials = ("__token__", self.cli("tokens", "create", "bench"))

    def load(self, dists: list[Dist], threads: int) -> dict:
        """Upload every file, then export the pages as a static tree while the index is as
        loaded, before the timed upload adds releases: nginx serves that tree later."""
        loaded = bulk_upload(self.upload_url, self.credentials, dists, threads)
        return loaded | {"render_all_s": self.render_static_tree(self.static_tree)}

    @property
    def static_tree(self) -> Path:
        return self.work / "static"

    def render_static_tree(self, target: Path) -> float:
        """Bastion's own pre-rendered pages written as files, by its ``render_all``."""
        started = time.monotonic()
        script = (
            "import sys, django; django.setup()\n"
            "from pathlib import Path\n"
            "from bastion.simple.services import render_all\n"
            "render_all(Path(sys.argv[1]))\n"
        )
        env = dict(self.env, DJANGO_SETTINGS_MODULE="bastion.settings")
        subprocess.run([sys.executable, "-c", script, str(target)], env=env, check=True)
        return round(time.monotonic() - started, 2)

    def version(self) -> str:
        from importlib.metadata import PackageNotFoundError, version

        commit = _output(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"])
        servers = []
        for server in ("pyuwsgi", "gunicorn", "granian"):  # whichever `bastion serve` runs on
            try:
                servers.append(f"{server} {version(server)}")
            except PackageNotFoundError:
                continue
        return f"bastion {version('bastion-index')} (commit {commit}), {', '.join(servers)}"


class Devpi(Server):
    """devpi-server with one user and one non-mirroring index (``bases=``), offline."""

    name = "devpi"
    simple_path = "/bench/dev/+simple/"
    upload_path = "/bench/dev/"
    credentials = ("bench", "bench-password")

    def start(self) -> None:
        bin_ = venv_bin("devpi")
        serverdir = self.work / "serverdir"
        subprocess.run(
            [str(bin_ / "devpi-init"), "--serverdir", str(serverdir), "--no-root-pypi"],
            env=client_env(),
            check=True,
            capture_output=True,
        )
        self.process = Process(
            [
                *(str(bin_ / "devpi-server"), "--serverdir", str(serverdir)),
                *("--host", "127.0.0.1", "--port", str(self.port), "--offline-mode"),
            ],
            log=self.work / "server.log",
            env=client_env(),
        )
        self.process.wait_until_up(f"{self.base}/+api")
        user, password = self.credentials
        session = requests.Session()
        created = session.put(
            f"{self.base}/{user}", json={"password": password, "email": "bench@example.com"}
        )
        created.raise_for_status()
        # What ``devpi login`` does: trade the password for a signed login token once. Sent as
        # the Basic-auth password it skips the Argon2 check that a plain password costs on every
        # request (about 0.1 s, which caps password uploads near 8 files/s on this machine).
        login = session.post(f"{self.base}/+login", json={"user": user, "password": password})
        login.raise_for_status()
        self.credentials = (user, login.json()["result"]["password"])
        index = session.put(
            f"{self.base}/{user}/dev",
            json={"type": "stage", "bases": [], "volatile": False},
            auth=self.credentials,
        )
        index.raise_for_status()

    def load(self, dists: list[Dist], threads: int) -> dict:
        return bulk_upload(self.upload_url, self.credentials, dists, threads)

    def version(self) -> str:
        return "devpi-server " + _output([str(venv_bin("devpi") / "devpi-server"), "--version"])


class PypiServer(Server):
    """pypiserver with its recommended extras; uploads open (``-a . -P .``), no PyPI fallback."""

    name = "pypiserver"
    upload_path = "/"
    credentials = ("bench", "unused")

    def start(self) -> None:
        self.packages = self.work / "packages"
        self.packages.mkdir(exist_ok=True)

    def load(self, dists: list[Dist], threads: int) -> dict:
        """pypiserver reads a directory: loading is copying the files in, then starting."""
        started = time.monotonic()
        for dist in dists:
            shutil.copyfile(dist.path, self.packages / dist.path.name)
        self.process = Process(
            [
                *(str(venv_bin("pypiserver") / "pypi-server"), "run", "-i", "127.0.0.1"),
                *("-p", str(self.port), "-a", ".", "-P", ".", "--disable-fallback"),
                *("--server", "auto", str(self.packages)),
            ],
            log=self.work / "server.log",
            env=client_env(),
        )
        self.process.wait_until_up(f"{self.base}/health")
        seconds = time.monotonic() - started
        return {
            "files": len(dists),
            "seconds": round(seconds, 2),
            "files_per_s": len(dists) / seconds,
        }

    def version(self) -> str:
        bin_ = venv_bin("pypiserver")
        waitress = _output(
            [
                str(bin_ / "python"),
                "-c",
                "import importlib.metadata as m; print(m.version('waitress'))",
            ]
        )
        pypiserver = _output([str(bin_ / "pypi-server"), "--version"])
        return f"pypiserver {pypiserver}, waitress {waitress}"


NGINX_CONF = """\
{user}
worker_processes auto;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 1000000;
    client_body_temp_path {prefix}/tmp;
    proxy_temp_path {prefix}/tmp;
    fastcgi_temp_path {prefix}/tmp;
    uwsgi_temp_path {prefix}/tmp;
    scgi_temp_path {prefix}/tmp;
    types {{
        text/html html;
        application/vnd.pypi.simple.v1+json json;
    }}
    default_type application/octet-stream;
    # A static tree cannot weigh q-values: any Accept naming the JSON type gets JSON, which is
    # what pip and uv prefer; everything else gets HTML.
    map $http_accept $simple_page {{
        default index.html;
        "~application/vnd\\.pypi\\.simple\\.v1\\+json" index.json;
    }}
    server {{
        listen 127.0.0.1:{port};
        # The headers Bastion's read path sends (bastion.simple.replies.SECURITY_HEADERS);
        # a location with an add_header of its own inherits none, so each lists them.
        location /simple/ {{
            root {pages};
            add_header Vary Accept;
            add_header X-Content-Type-Options nosniff always;
            add_header X-Frame-Options DENY always;
            try_files $uri$simple_page =404;
        }}
        location /files/ {{
            alias {files}/;
            add_header X-Content-Type-Options nosniff always;
            add_header X-Frame-Options DENY always;
        }}
    }}
}}
"""


class Nginx(Server):
    """The ceiling: nginx serving the very pages Bastion renders, as static files."""

    name = "nginx"
    json_capable = True

    def __init__(self, work: Path, bastion: Bastion):
        super().__init__(work)
        self.bastion = bastion

    def start(self) -> None:
        (self.work / "tmp").mkdir()

    def load(self, dists: list[Dist], threads: int) -> dict:
        """Serve the tree Bastion exported once loaded, and Bastion's files directory."""
        conf = self.work / "nginx.conf"
        conf.write_text(
            NGINX_CONF.format(
                # Bastion stores distribution files with mode 0600, so workers must run as the
                # files' owner: nginx started by root would otherwise drop to "nobody".
                user=f"user {getpass.getuser()};" if os.geteuid() == 0 else "",
                prefix=self.work,
                port=self.port,
                pages=self.bastion.static_tree,
                files=self.bastion.data_dir / "files",
            )
        )
        self.process = Process(
            ["nginx", "-p", str(self.work), "-c", str(conf), "-g", "daemon off;"],
            log=self.work / "server.log",
            env=client_env(),
        )
        self.process.wait_until_up(self.simple_url)
        return {"files": len(dists), "seconds": None, "why": "serves the tree Bastion exported"}

    def version(self) -> str:
        return _output(["nginx", "-v"]).replace("nginx version: ", "")
