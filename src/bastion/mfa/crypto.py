"""Encryption of secrets at rest, with keys derived from the site's SECRET_KEY.

TOTP secrets use it, and so do other apps' secrets (the key program's promo codes), each under
its own ``purpose``. A database dump alone then does not reveal anyone's authenticator seed. HKDF
gives each purpose a key that is used for nothing else; Fernet adds authentication, so a tampered
ciphertext fails loudly instead of yielding a wrong secret. Rotating SECRET_KEY makes stored
secrets unreadable, exactly as it logs everyone out: the affected users re-enrol (or use a
recovery code).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from functools import cache
from typing import TYPE_CHECKING

from django.conf import settings

if TYPE_CHECKING:
    from cryptography.fernet import Fernet

TOTP_SECRET = b"bastion.mfa.totp-secret.v1"


class SecretUnreadable(Exception):
    """The ciphertext was not made with this site's key (or was altered)."""


@cache
def _derive(secret_key: str, purpose: bytes) -> bytes:
    # cryptography is imported where used: about 7 MiB per server process that never needs it
    # (an installer's reads, an upload), see tests/test_server.py.
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(
        secret_key.encode()
    )


@cache
def _fernet(secret_key: str, purpose: bytes) -> Fernet:
    from cryptography.fernet import Fernet

    return Fernet(base64.urlsafe_b64encode(_derive(secret_key, purpose)))


def encrypt(plaintext: str, purpose: bytes = TOTP_SECRET) -> str:
    return _fernet(settings.SECRET_KEY, purpose).encrypt(plaintext.encode()).decode()


def decrypt(ciphertext: str, purpose: bytes = TOTP_SECRET) -> str:
    from cryptography.fernet import InvalidToken

    try:
        return _fernet(settings.SECRET_KEY, purpose).decrypt(ciphertext.encode()).decode()
    except InvalidToken as error:
        raise SecretUnreadable("the stored secret cannot be decrypted with this key") from error


def digest(value: str, purpose: bytes) -> str:
    """A keyed HMAC-SHA256 of ``value``: finds equal secrets without storing them readably."""
    return hmac.new(
        _derive(settings.SECRET_KEY, purpose), value.encode(), hashlib.sha256
    ).hexdigest()
