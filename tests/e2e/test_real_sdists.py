"""Real old sdists from PyPI upload with twine, and their descriptions show on the project page.

Each was made by an old setuptools or distutils, which folded the description into the
``Description`` header (eight spaces before every further line) and, before Metadata 2.1,
declared no content type. twine sends that header as it reads it; the index must unfold it and
render it as reStructuredText (or plain text), not refuse it as six 1.16.0 once was.
"""

import tarfile
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from tests.pypi_files import PypiFile, fetch

pytestmark = pytest.mark.e2e


@dataclass(frozen=True)
class RealSdist:
    file: PypiFile
    metadata_version: str
    rendered: str  # HTML that only the unfolded description, rendered, contains


REAL_SDISTS = (
    RealSdist(
        PypiFile(
            "mox", "mox-0.5.3.tar.gz",
            "424ee725ee12652802b4e86571f816059b0d392401ceae70bf6487d65602cba9",
        ),
        "1.0",
        "<p>Mox is a mock object framework for Python based on the\nJava mock",
    ),
    RealSdist(
        PypiFile(
            "docopt", "docopt-0.6.2.tar.gz",
            "49b3a825280bd66b3aa83585ef59c4a8c82f2c8a522dbe754a8bc8d08c85c491",
        ),
        "1.1",
        "creates <em>beautiful</em> command-line interfaces",
    ),
    RealSdist(
        PypiFile(
            "six", "six-1.16.0.tar.gz",
            "1e61c37477a1626458e36f7b1d82aa5c9b094fa4802892072e49de9c60c4c926",
        ),
        "1.2",
        '<img alt="six on PyPI" src="https://img.shields.io/pypi/v/six.svg">',
    ),
    RealSdist(
        PypiFile(
            "attrs", "attrs-19.1.0.tar.gz",
            "f0b870f674851ecbfbbbd364d6b5cbdff9dcedbc7f3f5e18a6891057f21fe399",
        ),
        "2.1",
        '<span class="docutils literal">attrs</span>: Classes Without Boilerplate',
    ),
    RealSdist(  # declares text/markdown: folded, its heading became an indented code block
        PypiFile(
            "requests", "requests-2.22.0.tar.gz",
            "11e007a8a2aa0323f5a921e9e6a2d7e4e67d9877e85773fba9ba6419025cbeb4",
        ),
        "2.1",
        '<h1 id="user-content-requests-http-for-humans">Requests: HTTP for Humans™',
    ),
)  # fmt: skip


def _declared_metadata_version(path: Path) -> str:
    top = path.name.removesuffix(".tar.gz")
    with tarfile.open(path) as archive:
        pkg_info = archive.extractfile(f"{top}/PKG-INFO").read().decode()
    return pkg_info.split("\n", 1)[0].removeprefix("Metadata-Version: ")


@pytest.fixture(scope="module")
def real_sdist_paths() -> list[Path]:
    """Fetched (or skipped for want of PyPI) before the module's server starts."""
    return [fetch(sdist.file) for sdist in REAL_SDISTS]


def test_real_old_sdists_upload_and_show_their_descriptions(real_sdist_paths, live_index):
    paths = real_sdist_paths
    versions = [_declared_metadata_version(path) for path in paths]
    assert versions == [sdist.metadata_version for sdist in REAL_SDISTS]
    token = live_index.user_with_token("oldtimer")

    result = live_index.twine_upload(token, *paths)

    assert result.returncode == 0, result.output
    for sdist in REAL_SDISTS:
        project = sdist.file.project
        page = requests.get(f"{live_index.url}/project/{project}/", timeout=10)
        assert page.status_code == 200, project
        assert sdist.rendered in page.text, f"{project}'s description is not rendered"
        assert ".. image::" not in page.text, f"{project}'s description shows as raw text"
