"""Skipping tests whose system tool is missing, unless CI demands that everything runs.

``.ci/run`` installs every tool and sets ``BASTION_REQUIRE_TOOLS=1``, which turns each of these
skips into a failure: a green CI run therefore always ran the whole suite.
"""

import os
import shutil

import pytest

REQUIRE_ALL = os.environ.get("BASTION_REQUIRE_TOOLS") == "1"


def missing(what: str) -> None:
    """Skip (or, in CI, fail) because ``what`` is not available on this machine."""
    message = f"{what} is not available on this machine"
    if REQUIRE_ALL:
        pytest.fail(message + " (BASTION_REQUIRE_TOOLS=1 forbids skipping)", pytrace=False)
    pytest.skip(message)


def require_executable(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        missing(f"the '{name}' command")
    return path
