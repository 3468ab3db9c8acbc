"""Test settings: the product settings, with a throwaway data directory per test process.

The directory is made here, in each process, rather than inherited through the environment:
pytest-xdist workers would otherwise share the controller's directory and see each other's files.
"""

import os
import tempfile

_worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
os.environ["BASTION_DATA_DIR"] = tempfile.mkdtemp(prefix=f"bastion-test-{_worker}-")

from bastion.settings import *  # noqa: E402, F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # speed; not a product path

if DATABASES["default"]["ENGINE"] == "bastion.sqlite":  # noqa: F405
    # Django's in-memory test database, as for its own SQLite backend: pytest-django recognises
    # that backend by its module path alone, and would otherwise derive a file name from NAME.
    DATABASES["default"]["TEST"] = {"NAME": ":memory:"}  # noqa: F405
