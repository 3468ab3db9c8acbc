"""Password rules of Bastion's own: not like the account's email addresses, and not breached.

Django's similarity rule reads ``user.email``, which Bastion leaves empty (addresses live in
:class:`~bastion.accounts.models.Email`); :class:`EmailSimilarityValidator` reads those instead.

Refusing passwords that appear in known breaches (Have I Been Pwned's Pwned Passwords):

Two sources, either or both:

* ``BASTION_HIBP_URL``: a Pwned Passwords range API, such as ``https://api.pwnedpasswords.com/range``.
  Only the first five hex characters of the password's SHA-1 leave this machine (k-anonymity):
  ``GET <url>/<PREFIX>`` answers ``SUFFIX:COUNT`` lines, and the password is breached when its
  35-character suffix is listed with a count above zero (padding lines have count 0). Unset by
  default, so a fresh install sends nothing off the machine.
* ``BASTION_HIBP_RANGE_FILE``: an offline copy. One SHA-1 per line, 40 hex characters,
  optionally followed by ``:COUNT`` (``5BAA61E4C9B93F3F0682250B6CF8331B7EE68FD8:52256179``),
  **sorted by hash**, which is what the Pwned Passwords downloader writes. Case does not matter,
  CRLF line ends are fine, a count of 0 means "not breached". The file is binary-searched, so the
  full 40 GB list answers in a few dozen reads.

When the service is slow or unreachable the check fails open: the password is accepted and a
warning is logged. Blocking every registration because a third party is down would be worse.
"""

from __future__ import annotations

import hashlib
import logging
import urllib.error
import urllib.request
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import UserAttributeSimilarityValidator
from django.core.exceptions import ValidationError

logger = logging.getLogger(__name__)

BREACHED_MESSAGE = (
    "This password has appeared in a data breach of another service, so attackers try it first. "
    "Choose a different password."
)


class EmailSimilarityValidator:
    """Refuse a password too similar to any of the account's addresses (Django's rule, per
    address). An account not saved yet is judged on the ``email`` it is being created with."""

    def __init__(self, max_similarity: float = 0.7):
        self._similarity = UserAttributeSimilarityValidator(("email",), max_similarity)

    def validate(self, password: str, user=None) -> None:
        if user is None:
            return
        addresses = {user.email} if getattr(user, "email", "") else set()
        if user.pk is not None:
            addresses |= set(user.emails.values_list("email", flat=True))
        for address in sorted(addresses):  # an unsaved user holding one address, to judge it
            self._similarity.validate(password, get_user_model()(email=address))

    def get_help_text(self) -> str:
        return "Your password can't be too similar to your email addresses."


def sha1_hex(password: str) -> str:
    return hashlib.sha1(password.encode(), usedforsecurity=False).hexdigest().upper()


def parse_range(body: str, suffix: str) -> int:
    """The breach count for ``suffix`` in a range answer of ``SUFFIX:COUNT`` lines (0 if absent)."""
    suffix = suffix.upper()
    for line in body.splitlines():
        listed, _, count = line.strip().partition(":")
        if listed.upper() == suffix and count.strip().isdigit():
            return int(count)
    return 0


def fetch_range_count(base_url: str, full_hash: str, timeout: float) -> int | None:
    """Ask a range API about ``full_hash``; None when it could not answer."""
    prefix, suffix = full_hash[:5], full_hash[5:]
    request = urllib.request.Request(  # noqa: S310 - the operator configures an http(s) URL
        f"{base_url.rstrip('/')}/{prefix}",
        headers={"User-Agent": "bastion-index", "Add-Padding": "true"},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            body = response.read().decode("utf-8", errors="replace")
    except (OSError, urllib.error.URLError, ValueError) as error:
        logger.warning("Breached-password check skipped: %s did not answer (%s)", base_url, error)
        return None
    return parse_range(body, suffix)


def count_in_sorted_file(path: Path, full_hash: str) -> int:
    """Binary-search a sorted ``HASH[:COUNT]`` file for ``full_hash``; 0 when absent."""
    target = full_hash.upper().encode()
    with path.open("rb") as handle:
        size = handle.seek(0, 2)

        def line_from(offset: int) -> bytes:
            """The first whole line that starts at or after ``offset``."""
            if offset == 0:
                handle.seek(0)
            else:
                handle.seek(offset - 1)
                handle.readline()
            return handle.readline().strip()

        low, high = 0, size
        while low < high:
            middle = (low + high) // 2
            line = line_from(middle)
            if line and line.split(b":")[0].upper() < target:
                low = middle + 1
            else:
                high = middle
        listed, _, count = line_from(low).partition(b":")
    if listed.upper() != target:
        return 0
    return int(count) if count.strip().isdigit() else 1


def breach_count(password: str) -> int:
    """How often ``password`` appears in the configured breach sources (0 when none is set)."""
    full_hash = sha1_hex(password)
    range_file = getattr(settings, "HIBP_RANGE_FILE", None)
    if range_file:
        try:
            found = count_in_sorted_file(Path(range_file), full_hash)
        except OSError as error:
            logger.warning("Breached-password file %s unreadable (%s)", range_file, error)
            found = 0
        if found:
            return found
    base_url = getattr(settings, "HIBP_URL", None)
    if base_url:
        return fetch_range_count(base_url, full_hash, settings.HIBP_TIMEOUT) or 0
    return 0


def breach_check_configured() -> bool:
    return bool(getattr(settings, "HIBP_URL", None) or getattr(settings, "HIBP_RANGE_FILE", None))


class BreachedPasswordValidator:
    """A Django password validator: refuse passwords listed in Pwned Passwords."""

    def validate(self, password: str, user=None) -> None:
        if breach_count(password) > 0:
            raise ValidationError(BREACHED_MESSAGE, code="password_breached")

    def get_help_text(self) -> str:
        """Promise the check only where it runs: it is off unless a source is configured."""
        if not breach_check_configured():
            return ""
        return "Your password can't be one that has appeared in a known data breach."
