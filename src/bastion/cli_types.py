"""Argument types for the ``bastion`` command line.

Each turns the text of one argument into a value, or raises ``argparse.ArgumentTypeError`` with a
plain sentence: argparse then prints ``bastion serve: error: argument --bind: <sentence>`` and
exits with status 2. (A ``ValueError`` instead would make argparse print the function's name,
as in "invalid _positive_int value".)
"""

from __future__ import annotations

import ipaddress
import re
from argparse import ArgumentTypeError
from datetime import date
from pathlib import Path

#: The port ``bastion serve --bind HOST`` listens on when HOST has none.
DEFAULT_PORT = 8000

_DIGITS = re.compile(r"[0-9]+")
_LABEL = r"[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?"
_HOST_NAME = re.compile(rf"{_LABEL}(\.{_LABEL})*")
_BIND_FORMS = "HOST, HOST:PORT, [IPV6]:PORT or unix:PATH"


def positive_int(text: str) -> int:
    """A count such as ``--workers`` or ``--expires-days``: 1 or more."""
    if not _DIGITS.fullmatch(text.strip()) or int(text) < 1:
        raise ArgumentTypeError(f"expected a whole number above 0, got {text!r}")
    return int(text)


def whole_number(text: str) -> int:
    """A count that may be 0, such as ``--grace-days``."""
    if not _DIGITS.fullmatch(text.strip()):
        raise ArgumentTypeError(f"expected a whole number (0 or more), got {text!r}")
    return int(text)


def hours(text: str) -> float:
    """A length of time in hours, such as ``--older-than``: 0 or more, fractions allowed."""
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value >= 0:  # also refuses nan
        raise ArgumentTypeError(f"expected a number of hours (0 or more), got {text!r}")
    return value


def iso_date(text: str) -> date:
    """A day written ``YYYY-MM-DD``."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ArgumentTypeError(f"expected a date as YYYY-MM-DD, got {text!r}") from None


def existing_file(text: str) -> Path:
    """A file to read; refused here, before anything starts, if it is not there."""
    path = Path(text)
    if not path.exists():
        raise ArgumentTypeError(f"no such file: {text!r}")
    if not path.is_file():
        raise ArgumentTypeError(f"not a file: {text!r}")
    return path


def existing_directory(text: str) -> Path:
    """A directory to read, such as a backup to restore."""
    path = Path(text)
    if not path.is_dir():
        raise ArgumentTypeError(f"no such directory: {text!r}")
    return path


def new_or_empty_directory(text: str) -> Path:
    """A directory to fill, such as a backup's: never one that already holds something."""
    path = Path(text)
    if path.exists() and not path.is_dir():
        raise ArgumentTypeError(f"not a directory: {text!r}")
    if path.is_dir() and any(path.iterdir()):
        raise ArgumentTypeError(f"not empty: {text!r}")
    return path


def bind_address(text: str) -> str:
    """``bastion serve --bind``: where to listen, in the form uWSGI's socket options take.

    uWSGI reads a value without a colon as the path of a Unix socket, so ``--bind 127.0.0.1``
    once created a socket file named ``127.0.0.1``. Here a host alone gets port 8000, an IPv6
    address goes in brackets, and a Unix socket has to say ``unix:PATH``.
    """
    if text.startswith("unix:"):
        return _unix_socket(text.removeprefix("unix:"))
    if text.startswith("["):
        host, closed, rest = text[1:].partition("]")
        if not closed or (rest and not rest.startswith(":")):
            raise ArgumentTypeError(f"expected [IPV6] or [IPV6]:PORT, got {text!r}")
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise ArgumentTypeError(f"{host!r} is not an IPv6 address") from None
        return f"[{host}]:{_port(rest[1:], text) if rest else DEFAULT_PORT}"
    if text.count(":") > 1:
        raise ArgumentTypeError(f"put an IPv6 address in brackets, e.g. [::1]:8000, got {text!r}")
    host, has_port, port = text.partition(":")
    if not host and not has_port:
        raise ArgumentTypeError(f"expected {_BIND_FORMS}, got an empty value")
    if host and not _is_host(host):
        raise ArgumentTypeError(f"expected {_BIND_FORMS}, got {text!r}")
    return f"{host}:{_port(port, text) if has_port else DEFAULT_PORT}"


def _unix_socket(path: str) -> str:
    if not path:
        raise ArgumentTypeError("expected a socket path after 'unix:'")
    if ":" in path:  # uWSGI would take it for HOST:PORT
        raise ArgumentTypeError(f"a Unix socket path cannot contain ':', got {path!r}")
    return path


def _is_host(host: str) -> bool:
    if re.fullmatch(r"[0-9.]+", host):  # looks like IPv4: must be one
        try:
            ipaddress.IPv4Address(host)
        except ValueError:
            return False
        return True
    return len(host) <= 253 and _HOST_NAME.fullmatch(host) is not None


def _port(text: str, whole: str) -> int:
    if not _DIGITS.fullmatch(text) or not 1 <= int(text) <= 65535:
        raise ArgumentTypeError(f"expected a port from 1 to 65535 after the colon, got {whole!r}")
    return int(text)
