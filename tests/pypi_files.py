"""Real distributions from PyPI, pinned by SHA-256 and cached between test runs.

Hand-built archives only show what their author thought of; the files that real (old) build
tools wrote show what an index actually meets. Each file is looked up in PyPI's simple index
(PEP 691 JSON), downloaded once into ``$XDG_CACHE_HOME/bastion-tests/pypi/`` (``~/.cache`` by
default), and checked against its pinned digest on every use. Without the network a test that
needs one skips, or fails under ``BASTION_REQUIRE_TOOLS=1`` (see :mod:`tests.tools`).
"""

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import requests

from tests.tools import missing

PYPI_SIMPLE = "https://pypi.org/simple"
_SIMPLE_JSON = "application/vnd.pypi.simple.v1+json"


@dataclass(frozen=True)
class PypiFile:
    project: str
    filename: str
    sha256: str


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "bastion-tests" / "pypi"


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _url(file: PypiFile) -> str:
    """The file's download address, as PyPI's simple index lists it today."""
    response = requests.get(
        f"{PYPI_SIMPLE}/{file.project}/", headers={"Accept": _SIMPLE_JSON}, timeout=30
    )
    response.raise_for_status()
    for entry in response.json()["files"]:
        if entry["filename"] == file.filename:
            return entry["url"]
    raise LookupError(f"{file.filename} is not listed at {PYPI_SIMPLE}/{file.project}/")


def _download(file: PypiFile, path: Path) -> None:
    response = requests.get(_url(file), timeout=60)
    response.raise_for_status()
    if hashlib.sha256(response.content).hexdigest() != file.sha256:
        raise ValueError(f"{file.filename} from PyPI does not match its pinned SHA-256")
    partial = path.with_name(f".{path.name}.{os.getpid()}.part")
    partial.write_bytes(response.content)
    partial.replace(path)  # atomic: a parallel test run never reads half a file


def fetch(file: PypiFile) -> Path:
    """The cached file, downloaded first if needed; skips (or fails in CI) without PyPI."""
    path = cache_dir() / file.filename
    if path.exists() and _digest(path) == file.sha256:
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        _download(file, path)
    except (requests.RequestException, LookupError) as exc:
        missing(f"PyPI, to download {file.filename} ({type(exc).__name__}: {exc}),")
    return path
