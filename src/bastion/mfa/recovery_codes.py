"""Recovery codes: ten single-use codes, shown once, stored only as Argon2 hashes.

Each code carries 64 random bits, so Argon2 here guards a database dump against fast offline
guessing without needing the memory cost a human-chosen password does; the parameters are
RFC 9106's low-memory profile scaled to keep a ten-code check well under a second.
"""

from __future__ import annotations

import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

COUNT = 10
_BYTES = 8  # 16 hex digits

_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)


def generate() -> list[str]:
    return [secrets.token_hex(_BYTES) for _ in range(COUNT)]


def display(code: str) -> str:
    """Grouped for reading aloud and copying: ``1a2b-3c4d-5e6f-7a8b``."""
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


def normalize(code: str) -> str:
    """Accept the code as shown, with or without dashes, spaces or capitals."""
    return "".join(ch for ch in code.lower() if ch in "0123456789abcdef")


def hash_code(code: str) -> str:
    return _hasher.hash(code)


def matches(code: str, code_hash: str) -> bool:
    try:
        return _hasher.verify(code_hash, code)
    except (VerificationError, InvalidHashError):
        return False
