"""Other local accounts read nothing secret in the data directory, yet a static server reads its
public trees.

Each test starts a fresh Python process on a data directory of its own, under the loose umask
022 that a login shell or a service manager usually gives, as ``bastion serve`` would start.
"""

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

# What a fresh server does first: migrate, send a mail (a reset link, in the outbox), store a
# file, render the pages. Then, with the database still open (so -wal and -shm exist), it
# reports the mode of everything in the data directory.
FRESH_START = """
import json, os, django
os.environ["DJANGO_SETTINGS_MODULE"] = "bastion.settings"
django.setup()
from django.core.mail import send_mail
from django.core.management import call_command
from django.db import connection
from bastion.packaging import storage
from bastion.simple import services
call_command("migrate", verbosity=0)
send_mail("Reset your password", "http://localhost/reset/secret/", None, ["maria@example.org"])
storage.store_bytes(storage.key_for("ab" * 32, "spam-1.0.tar.gz"), b"bytes")
services.render_root()
with connection.cursor() as cursor:
    cursor.execute("SELECT count(*) FROM django_session")
root = os.environ["BASTION_DATA_DIR"]
modes = {".": os.stat(root).st_mode & 0o777}
for directory, directories, files in os.walk(root):
    for name in directories + files:
        path = os.path.join(directory, name)
        modes[os.path.relpath(path, root)] = os.lstat(path).st_mode & 0o777
print(json.dumps(modes))
"""


def start(data_dir: Path, script: str) -> str:
    environ = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("BASTION_") and name != "DJANGO_SETTINGS_MODULE"
    }
    environ["BASTION_DATA_DIR"] = str(data_dir)  # and SQLite, mail to the outbox: the defaults
    result = subprocess.run(
        [sys.executable, "-c", script],
        env=environ,
        umask=0o022,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_fresh_start_keeps_secrets_private_and_the_public_trees_readable(tmp_path):
    data_dir = tmp_path / "data"
    modes = json.loads(start(data_dir, FRESH_START).splitlines()[-1])

    assert modes["."] == 0o711  # others may pass through to files/ and pages/, not list it
    for secret in ("secret_key", "bastion.sqlite3", "bastion.sqlite3-wal", "bastion.sqlite3-shm"):
        assert modes[secret] == 0o600, secret
    mails = [path for path in modes if path.startswith("outbox/")]
    assert mails and modes["outbox"] == 0o700
    assert all(modes[path] == 0o600 for path in mails)
    public = [path for path in modes if path.split("/")[0] in ("files", "pages")]
    assert any(path.endswith("spam-1.0.tar.gz") for path in public)
    assert any(path.endswith("simple/.list/manifest.json") for path in public)
    for path in public:
        expected = 0o755 if (data_dir / path).is_dir() else 0o644
        assert modes[path] == expected, path
    private = set(modes) - set(public) - {"."}
    assert {"static", "outbox"} <= private
    assert not [path for path in private if modes[path] & 0o077]


def test_a_data_directory_made_before_is_tightened_and_the_public_trees_stay(tmp_path):
    data_dir = tmp_path / "data"
    (data_dir / "outbox").mkdir(parents=True)
    (data_dir / "pages").mkdir()
    (data_dir / "bastion.sqlite3").touch()
    (data_dir / "outbox" / "20261203-reset.log").write_text("http://localhost/reset/secret/")
    for path, loose in [
        (data_dir, 0o755),
        (data_dir / "outbox", 0o755),
        (data_dir / "pages", 0o755),
        (data_dir / "bastion.sqlite3", 0o644),
    ]:
        path.chmod(loose)

    start(data_dir, "import bastion.settings")

    assert mode(data_dir) == 0o711
    assert mode(data_dir / "bastion.sqlite3") == 0o600
    assert mode(data_dir / "outbox") == 0o700  # what is inside is out of others' reach
    assert mode(data_dir / "pages") == 0o755


def test_an_operators_stricter_data_directory_is_never_loosened(tmp_path):
    data_dir = tmp_path / "data"
    data_dir.mkdir(mode=0o700)
    data_dir.chmod(0o700)  # no static server as another account here

    start(data_dir, "import bastion.settings")

    assert mode(data_dir) == 0o700
