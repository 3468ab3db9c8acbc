"""Test settings: the product settings, with a throwaway data directory per test process."""

import os
import tempfile

os.environ.setdefault("BASTION_DATA_DIR", tempfile.mkdtemp(prefix="bastion-test-"))

from bastion.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # speed; not a product path
