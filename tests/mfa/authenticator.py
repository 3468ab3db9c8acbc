"""A software WebAuthn authenticator for tests, built from fido2's data structures.

It answers the JSON options Bastion sends, the way a browser plus a FIDO2 key would, and can be
told to verify the user (PIN or biometrics), to keep resident (discoverable) credentials, and to
misreport its signature counter, as a cloned key does.
"""

from __future__ import annotations

import hashlib
import json
import os
from base64 import urlsafe_b64decode, urlsafe_b64encode
from dataclasses import dataclass

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from fido2.cose import ES256
from fido2.webauthn import (
    Aaguid,
    AttestationObject,
    AttestedCredentialData,
    AuthenticatorData,
    CollectedClientData,
)

FLAG = AuthenticatorData.FLAG


def b64url(data: bytes) -> str:
    return urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class StoredCredential:
    credential_id: bytes
    private_key: ec.EllipticCurvePrivateKey
    rp_id: str
    user_handle: bytes
    sign_count: int = 0


class SoftAuthenticator:
    def __init__(self, origin: str, *, user_verified: bool = True):
        self.origin = origin
        self.user_verified = user_verified
        self.credentials: dict[bytes, StoredCredential] = {}

    def _flags(self, *extra: AuthenticatorData.FLAG) -> AuthenticatorData.FLAG:
        flags = FLAG.UP
        if self.user_verified:
            flags |= FLAG.UV
        for flag in extra:
            flags |= flag
        return flags

    def create(self, options: str | dict) -> dict:
        """Answer ``navigator.credentials.create``: a new ES256 key, attestation "none"."""
        options = json.loads(options) if isinstance(options, str) else options
        rp_id = options["rp"]["id"]
        excluded = {unb64url(c["id"]) for c in options.get("excludeCredentials", [])}
        if excluded & set(self.credentials):
            raise ValueError("InvalidStateError: this authenticator is already registered")
        key = ec.generate_private_key(ec.SECP256R1())
        credential_id = os.urandom(32)
        stored = StoredCredential(credential_id, key, rp_id, unb64url(options["user"]["id"]))
        self.credentials[credential_id] = stored
        attested = AttestedCredentialData.create(
            Aaguid.NONE, credential_id, ES256.from_cryptography_key(key.public_key())
        )
        auth_data = AuthenticatorData.create(
            hashlib.sha256(rp_id.encode()).digest(), self._flags(FLAG.AT), 0, attested
        )
        client_data = CollectedClientData.create(
            "webauthn.create", unb64url(options["challenge"]), self.origin
        )
        attestation = AttestationObject.create("none", auth_data, {})
        return {
            "id": b64url(credential_id),
            "rawId": b64url(credential_id),
            "type": "public-key",
            "clientExtensionResults": {},
            "response": {
                "clientDataJSON": b64url(bytes(client_data)),
                "attestationObject": b64url(bytes(attestation)),
                "transports": ["usb"],
            },
        }

    def get(self, options: str | dict, *, sign_count: int | None = None) -> dict:
        """Answer ``navigator.credentials.get`` with the first matching credential.

        ``sign_count`` overrides the counter, to play a clone whose counter lags behind.
        """
        options = json.loads(options) if isinstance(options, str) else options
        allowed = [unb64url(c["id"]) for c in options.get("allowCredentials", [])]
        candidates = [
            c
            for c in self.credentials.values()
            if c.rp_id == options["rpId"] and (not allowed or c.credential_id in allowed)
        ]
        if not candidates:
            raise ValueError("NotAllowedError: no credential for this request")
        stored = candidates[0]
        stored.sign_count = stored.sign_count + 1 if sign_count is None else sign_count
        auth_data = AuthenticatorData.create(
            hashlib.sha256(stored.rp_id.encode()).digest(), self._flags(), stored.sign_count
        )
        client_data = bytes(
            CollectedClientData.create("webauthn.get", unb64url(options["challenge"]), self.origin)
        )
        signature = stored.private_key.sign(
            bytes(auth_data) + hashlib.sha256(client_data).digest(), ec.ECDSA(hashes.SHA256())
        )
        return {
            "id": b64url(stored.credential_id),
            "rawId": b64url(stored.credential_id),
            "type": "public-key",
            "clientExtensionResults": {},
            "response": {
                "clientDataJSON": b64url(client_data),
                "authenticatorData": b64url(bytes(auth_data)),
                "signature": b64url(signature),
                "userHandle": b64url(stored.user_handle),
            },
        }
