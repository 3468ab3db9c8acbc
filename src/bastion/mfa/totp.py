"""TOTP (RFC 6238) as every authenticator app speaks it: SHA-1, 6 digits, 30-second steps.

A code is accepted one step either side of now, for clocks that drift a little. A code that
matches further away (up to :data:`OUT_OF_SYNC_STEPS`) is still refused, but the person is told
their device's clock is off rather than that the code is wrong.
"""

from __future__ import annotations

import hmac
import re
import time

import pyotp
import segno

ISSUER = "Bastion"
DIGITS = 6
INTERVAL = 30
ACCEPTED_STEPS = 1
OUT_OF_SYNC_STEPS = 10

_CODE = re.compile(r"^[0-9]{6}$")


def new_secret() -> str:
    """160 random bits (RFC 4226's recommendation), in base32 as authenticator apps expect."""
    return pyotp.random_base32(length=32)


def _totp(secret: str) -> pyotp.TOTP:
    return pyotp.TOTP(secret, digits=DIGITS, interval=INTERVAL)


def provisioning_uri(secret: str, username: str) -> str:
    return _totp(secret).provisioning_uri(name=username, issuer_name=ISSUER)


def qr_code_svg(uri: str) -> str:
    """The provisioning URI as an inline SVG QR code (no image request, no inline script)."""
    return segno.make(uri, error="m").svg_inline(scale=5, dark="#111", light="#fff")


def normalize(code: str) -> str | None:
    """The six digits the person meant, or None. Spaces are forgiven ("123 456")."""
    cleaned = "".join(code.split())
    return cleaned if _CODE.match(cleaned) else None


def current_step(now: float | None = None) -> int:
    return int((time.time() if now is None else now) // INTERVAL)


def matching_step(secret: str, code: str, *, steps: int, now: float | None = None) -> int | None:
    """The time step within ``steps`` of now whose code equals ``code``, compared in constant time.

    Every candidate is compared, matching or not, so timing does not reveal which step matched.
    """
    totp = _totp(secret)
    here = current_step(now)
    found = None
    for step in range(here - steps, here + steps + 1):
        if hmac.compare_digest(totp.generate_otp(step), code) and found is None:
            found = step
    return found
