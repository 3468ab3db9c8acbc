"""Encryption of TOTP secrets at rest, with a key derived from the site's SECRET_KEY.

A database dump alone then does not reveal anyone's authenticator seed. HKDF gives a key that
is used for nothing else; Fernet adds authentication, so a tampered ciphertext fails loudly
instead of yielding a wrong secret. Rotating SECRET_KEY makes stored secrets unreadable, exactly
as it logs everyone out: the affected users re-enrol (or use a recovery code).
"""

import base64
from functools import cache

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

_PURPOSE = b"bastion.mfa.totp-secret.v1"


class SecretUnreadable(Exception):
    """The ciphertext was not made with this site's key (or was altered)."""


@cache
def _fernet(secret_key: str) -> Fernet:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_PURPOSE).derive(
        secret_key.encode()
    )
    return Fernet(base64.urlsafe_b64encode(key))


def encrypt(plaintext: str) -> str:
    return _fernet(settings.SECRET_KEY).encrypt(plaintext.encode()).decode()


def decrypt(ciphertext: str) -> str:
    try:
        return _fernet(settings.SECRET_KEY).decrypt(ciphertext.encode()).decode()
    except InvalidToken as error:
        raise SecretUnreadable("the stored secret cannot be decrypted with this key") from error
