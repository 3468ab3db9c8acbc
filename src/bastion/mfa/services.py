"""What the rest of Bastion asks about a user's second factors.

Other apps (the authorization gate, the critical-project mandate, the CLI) call these and never
read the mfa models themselves.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bastion.mfa.models import TOTPDevice, WebAuthnCredential

if TYPE_CHECKING:
    from bastion.accounts.models import User

TOTP = "totp"
WEBAUTHN = "webauthn"
PASSKEY = "passkey"


def two_factor_methods(user: User) -> set[str]:
    """The kinds of confirmed factor the user has: any of "totp", "webauthn" and "passkey"."""
    if user.pk is None:
        return set()
    methods = {
        PASSKEY if discoverable else WEBAUTHN
        for discoverable in WebAuthnCredential.objects.filter(user=user)
        .values_list("discoverable", flat=True)
        .distinct()
    }
    if TOTPDevice.objects.filter(user=user).exists():
        methods.add(TOTP)
    return methods


def has_two_factor(user: User) -> bool:
    """True when the user can only sign in with a second factor (or a passkey)."""
    if user.pk is None:
        return False
    return (
        TOTPDevice.objects.filter(user=user).exists()
        or WebAuthnCredential.objects.filter(user=user).exists()
    )
