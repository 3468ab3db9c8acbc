"""WebAuthn ceremonies with py_webauthn: the options a browser needs, and checking its answers.

The relying party is derived from ``BASTION_BASE_URL``: its host is the RP ID and its scheme,
host and port the only accepted origin. Attestation is "none" (any authenticator may enrol, and
nothing is learnt about the device). Security keys ask for user verification where available;
passkeys, which replace both the password and the second factor, require it.

This module knows nothing about sessions, events or mail: callers keep the challenge and record
what happened (see :mod:`bastion.mfa.services`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from urllib.parse import urlsplit

import webauthn
from django.conf import settings
from webauthn.helpers import bytes_to_base64url, parse_authentication_credential_json
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AttestationConveyancePreference,
    AuthenticatorSelectionCriteria,
    AuthenticatorTransport,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from bastion.mfa.models import WebAuthnCredential

SITE_NAME = "Bastion"


class CeremonyFailed(Exception):
    """The browser's answer did not verify; ``message`` is safe to show."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class RelyingParty:
    id: str
    origin: str


def relying_party() -> RelyingParty:
    base = urlsplit(settings.BASE_URL)
    return RelyingParty(id=base.hostname or "localhost", origin=f"{base.scheme}://{base.netloc}")


@dataclass(frozen=True)
class NewCredential:
    credential_id: str
    public_key: bytes
    sign_count: int
    transports: list[str]
    aaguid: str
    backed_up: bool


@dataclass(frozen=True)
class Assertion:
    credential: WebAuthnCredential
    new_sign_count: int
    user_verified: bool


def user_handle(user) -> bytes:
    return str(user.pk).encode()


def _descriptors(credentials) -> list[PublicKeyCredentialDescriptor]:
    known = {t.value for t in AuthenticatorTransport}
    return [
        PublicKeyCredentialDescriptor(
            id=webauthn.base64url_to_bytes(c.credential_id),
            transports=[AuthenticatorTransport(t) for t in c.transports if t in known] or None,
        )
        for c in credentials
    ]


def registration_options(user, *, passkey: bool) -> tuple[str, bytes]:
    """Options JSON for ``navigator.credentials.create`` and the challenge to keep."""
    rp = relying_party()
    options = webauthn.generate_registration_options(
        rp_id=rp.id,
        rp_name=SITE_NAME,
        user_id=user_handle(user),
        user_name=user.username,
        user_display_name=user.get_full_name() or user.username,
        attestation=AttestationConveyancePreference.NONE,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=(
                ResidentKeyRequirement.REQUIRED if passkey else ResidentKeyRequirement.DISCOURAGED
            ),
            require_resident_key=passkey,
            user_verification=(
                UserVerificationRequirement.REQUIRED
                if passkey
                else UserVerificationRequirement.PREFERRED
            ),
        ),
        exclude_credentials=_descriptors(user.webauthn_credentials.all()),
    )
    return webauthn.options_to_json(options), options.challenge


def verify_registration(
    credential: dict | str, challenge: bytes, *, passkey: bool
) -> NewCredential:
    rp = relying_party()
    try:
        verified = webauthn.verify_registration_response(
            credential=credential,
            expected_challenge=challenge,
            expected_rp_id=rp.id,
            expected_origin=rp.origin,
            require_user_verification=passkey,
        )
    except (WebAuthnException, ValueError, KeyError, TypeError) as error:
        raise CeremonyFailed(f"The security key's answer could not be verified: {error}") from None
    payload = json.loads(credential) if isinstance(credential, str) else credential
    transports = (payload.get("response") or {}).get("transports") or []
    return NewCredential(
        credential_id=bytes_to_base64url(verified.credential_id),
        public_key=verified.credential_public_key,
        sign_count=verified.sign_count,
        transports=[str(t) for t in transports][:8],
        aaguid=verified.aaguid,
        backed_up=verified.credential_backed_up,
    )


def authentication_options(credentials=None, *, passkey: bool = False) -> tuple[str, bytes]:
    """Options JSON for ``navigator.credentials.get``: the user's keys, or none for a passkey."""
    options = webauthn.generate_authentication_options(
        rp_id=relying_party().id,
        allow_credentials=[] if passkey else _descriptors(credentials or []),
        user_verification=(
            UserVerificationRequirement.REQUIRED
            if passkey
            else UserVerificationRequirement.PREFERRED
        ),
    )
    return webauthn.options_to_json(options), options.challenge


def verify_assertion(
    credential: dict | str, challenge: bytes, candidates, *, passkey: bool = False
) -> Assertion:
    """Check an assertion against ``candidates`` (a queryset of credentials it may come from).

    The signature is verified before the signature counter is looked at, so only an answer
    really signed by the key can raise the cloned-key alarm. The counter itself is compared by
    the caller (see ``services.verify_webauthn``), which owns the alarm.
    """
    try:
        parsed = parse_authentication_credential_json(credential)
    except (WebAuthnException, ValueError, KeyError, TypeError):
        raise CeremonyFailed("The security key's answer was malformed.") from None
    stored = candidates.filter(credential_id=bytes_to_base64url(parsed.raw_id)).first()
    if stored is None:
        raise CeremonyFailed("This security key is not registered to this account.")
    if passkey:
        if not stored.discoverable:
            raise CeremonyFailed("This security key is not a passkey; sign in with a password.")
        if parsed.response.user_handle != user_handle(stored.user):
            raise CeremonyFailed("This passkey does not belong to the account it names.")
    rp = relying_party()
    try:
        verified = webauthn.verify_authentication_response(
            credential=parsed,
            expected_challenge=challenge,
            expected_rp_id=rp.id,
            expected_origin=rp.origin,
            credential_public_key=bytes(stored.public_key),
            credential_current_sign_count=0,  # compared afterwards, once the signature holds
            require_user_verification=passkey,
        )
    except (WebAuthnException, ValueError) as error:
        raise CeremonyFailed(f"The security key's answer could not be verified: {error}") from None
    return Assertion(
        credential=stored,
        new_sign_count=verified.new_sign_count,
        user_verified=verified.user_verified,
    )
