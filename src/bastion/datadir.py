"""Who may read the data directory: the server's account, except two trees made public on purpose.

The data directory holds secrets: the database (sessions, hashed tokens), the secret key, the
outbox (password reset and verification links), download statistics, withheld files. Other local
accounts must read none of it. So the process runs with umask 077, and everything it creates is
0600 (files) or 0700 (directories) unless made public here, which is exactly two trees: the
stored files (``FILES_DIR``) and the rendered simple pages (``PAGES_DIR``), which nginx or a CDN
origin running as another account serves, and which hold nothing that is not public anyway.

The data directory itself is 0711: others may pass through it to those two trees by name, but
may not list it, and every other entry in it is 0600 or 0700. Modes are only ever tightened: a
data directory an operator made 0700 (no static server) stays 0700.

Only the standard library here: settings imports this module before Django is set up.
"""

import logging
import os
import stat
from pathlib import Path

logger = logging.getLogger(__name__)

PROCESS_UMASK = 0o077
#: Others may traverse the data directory to the public trees, but not list it.
DATA_DIR_MODE = 0o711
PUBLIC_DIR_MODE = 0o755
PUBLIC_FILE_MODE = 0o644
#: The entries of the data directory that a static server reads (``FILES_DIR``, ``PAGES_DIR``).
PUBLIC_ENTRIES = frozenset({"files", "pages"})


def make_private(data_dir: Path) -> None:
    """Set the process umask, create the data directory, and tighten what is already in it.

    Called once, from settings, before anything is written. Tightening covers data directories
    made before this rule (a 0644 database, a 0755 outbox) or by hand.
    """
    os.umask(PROCESS_UMASK)
    if not data_dir.is_dir():
        data_dir.mkdir(parents=True, exist_ok=True)
        _chmod(data_dir, DATA_DIR_MODE)
    _tighten(data_dir, DATA_DIR_MODE)
    for entry in data_dir.iterdir():
        if entry.name not in PUBLIC_ENTRIES:
            _tighten(entry, 0o700 if entry.is_dir() else 0o600)


def make_public_dirs(path: Path) -> None:
    """``mkdir -p path``, each new directory 0755 whatever the umask, for a static server."""
    missing = []
    while not path.is_dir():
        missing.append(path)
        path = path.parent
    for directory in reversed(missing):
        try:
            directory.mkdir()
        except FileExistsError:
            continue  # made meanwhile by another process, which sets its mode
        _chmod(directory, PUBLIC_DIR_MODE)


def _tighten(path: Path, allowed: int) -> None:
    """Clear every permission bit of ``path`` that ``allowed`` does not have."""
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except OSError:
        return  # gone meanwhile, or a dangling link
    if mode & ~allowed:
        _chmod(path, mode & allowed)


def _chmod(path: Path, mode: int) -> None:
    try:
        os.chmod(path, mode)
    except OSError as error:  # e.g. owned by another account: the operator's to fix
        logger.warning("could not set mode %o on %s: %s", mode, path, error)
