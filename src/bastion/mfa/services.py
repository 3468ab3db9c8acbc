"""Second factors: what a user has, adding them, and checking them at sign-in.

Removing one is an action the gate answers, so it lives above the gate, in
:mod:`bastion.authz.factors`, with an administrator's reset of a lost account's factors.

Other apps (the authorization gate, the critical-project mandate, the CLI, the login view) call
these and never read the mfa models themselves. Every change to a user's factors records a
security event and mails every verified address of the account.
"""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils import timezone

from bastion.accounts import ratelimit
from bastion.accounts.models import User
from bastion.accounts.services import notify_account
from bastion.events import services as events
from bastion.events.services import Origin
from bastion.mfa import crypto, recovery_codes, totp
from bastion.mfa.models import RecoveryCode, TOTPDevice, WebAuthnCredential

TOTP = "totp"
WEBAUTHN = "webauthn"
PASSKEY = "passkey"
RECOVERY_CODE = "recovery-code"

TOO_MANY_ATTEMPTS = "Too many failed two-factor attempts."
INVALID_TOTP = "That code is not correct. Check your authenticator app and try again."
OUT_OF_SYNC_TOTP = (
    "That code is not correct now, but would be at another time: "
    "your device's clock is out of sync. Correct its time and try again."
)
REPLAYED_TOTP = "That code has already been used. Wait for your app to show the next one."
MALFORMED_TOTP = "Enter the six digits your authenticator app shows."
INVALID_RECOVERY_CODE = "That recovery code is not correct."
USED_RECOVERY_CODE = "That recovery code has already been used. Each code works only once."

#: PyPI's two-factor limits (reference §3.6): failures per account and per IP address.
TWO_FACTOR_PER_USER = ratelimit.RateLimiter(
    "2fa.user",
    ratelimit.Limit(5, 5 * ratelimit.MINUTE),
    ratelimit.Limit(20, ratelimit.HOUR),
    ratelimit.Limit(50, ratelimit.DAY),
)
TWO_FACTOR_PER_IP = ratelimit.RateLimiter(
    "2fa.ip", ratelimit.Limit(10, 5 * ratelimit.MINUTE), ratelimit.Limit(50, ratelimit.HOUR)
)


class FactorError(Exception):
    """A change to the factors was refused, or a factor did not verify. The message is safe."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


# ---------------------------------------------------------------------------------------------
# What a user has


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


def two_factor_summary(user: User) -> dict:
    """The shape ``bastion users show --json`` reports under ``two_factor``."""
    credentials = list(WebAuthnCredential.objects.filter(user=user).values_list("discoverable"))
    return {
        "totp": TOTPDevice.objects.filter(user=user).exists(),
        "webauthn_keys": sum(1 for (discoverable,) in credentials if not discoverable),
        "passkeys": sum(1 for (discoverable,) in credentials if discoverable),
        "recovery_codes_left": unused_recovery_codes(user),
    }


def unused_recovery_codes(user: User) -> int:
    return RecoveryCode.objects.filter(user=user, used_at__isnull=True).count()


def factor_count(user: User) -> int:
    """How many second factors (an authenticator app, keys, passkeys) the user has."""
    return (
        TOTPDevice.objects.filter(user=user).count()
        + WebAuthnCredential.objects.filter(user=user).count()
    )


# ---------------------------------------------------------------------------------------------
# Recording and telling


def _factor_added(user: User, method: str, origin: Origin, label: str = "") -> None:
    events.record(
        "account:two_factor:method_added", user=user, origin=origin, method=method, label=label
    )
    notify_account(user, "two-factor-added", {"method": method_name(method), "label": label})


def method_name(method: str) -> str:
    return {
        TOTP: "an authenticator app",
        WEBAUTHN: "a security key",
        PASSKEY: "a passkey",
        RECOVERY_CODE: "a recovery code",
    }[method]


# ---------------------------------------------------------------------------------------------
# Recovery codes


def _replace_recovery_codes(user: User) -> list[str]:
    codes = recovery_codes.generate()
    RecoveryCode.objects.filter(user=user).delete()
    RecoveryCode.objects.bulk_create(
        RecoveryCode(user=user, code_hash=recovery_codes.hash_code(code)) for code in codes
    )
    return codes


def lock_account(user: User) -> None:
    """Serialize changes to one account's factors: call first inside the change's transaction.

    Rules about a user's factors span rows of several tables ("not the last one while a project
    requires 2FA", "whoever has a factor has codes"), so a lock on one factor's row lets two
    removals of different factors both pass the check. The account row is the one row every
    change of that account's factors shares; on SQLite, writes are serialized anyway.
    """
    User.objects.select_for_update().filter(pk=user.pk).first()


def _first_factor_codes(user: User, origin: Origin) -> list[str] | None:
    """Give a user codes with their first factor: whoever has a factor has codes."""
    if unused_recovery_codes(user):
        return None
    codes = _replace_recovery_codes(user)
    events.record("account:recovery_codes:generated", user=user, origin=origin)
    return codes


def regenerate_recovery_codes(user: User, *, origin: Origin) -> list[str]:
    """A fresh set of ten codes; every earlier code stops working. Returns the only plain copy."""
    with transaction.atomic():
        lock_account(user)
        if not has_two_factor(user):
            raise FactorError("Add a two-factor method first: recovery codes stand in for one.")
        codes = _replace_recovery_codes(user)
        events.record("account:recovery_codes:regenerated", user=user, origin=origin)
    notify_account(user, "recovery-codes-generated")
    return codes


# ---------------------------------------------------------------------------------------------
# Adding factors


def confirm_totp(user: User, *, secret: str, code: str, origin: Origin) -> list[str] | None:
    """Store the authenticator app once the person proves it shows the right codes.

    Returns the new recovery codes when this is the user's first factor, else None.
    """
    normalized = totp.normalize(code)
    if normalized is None:
        raise FactorError(MALFORMED_TOTP)
    step = totp.matching_step(secret, normalized, steps=totp.ACCEPTED_STEPS)
    if step is None:
        near = totp.matching_step(secret, normalized, steps=totp.OUT_OF_SYNC_STEPS)
        raise FactorError(OUT_OF_SYNC_TOTP if near is not None else INVALID_TOTP)
    try:
        with transaction.atomic():
            lock_account(user)
            TOTPDevice.objects.create(
                user=user, encrypted_secret=crypto.encrypt(secret), last_used_step=step
            )
            codes = _first_factor_codes(user, origin)
    except IntegrityError:
        raise FactorError(
            "This account already has an authenticator app. Remove it before adding another."
        ) from None
    _factor_added(user, TOTP, origin)
    return codes


def _ceremonies():
    """The WebAuthn ceremonies, imported on first use: py_webauthn and the cryptography it
    loads cost every server process about a second and several MiB at start-up, and only the
    pages that add or use a security key need them (the gate imports this module)."""
    from bastion.mfa import ceremonies

    return ceremonies


def webauthn_registration_options(user: User, *, passkey: bool) -> tuple[str, bytes]:
    return _ceremonies().registration_options(user, passkey=passkey)


def add_webauthn(
    user: User,
    *,
    credential: dict | str,
    challenge: bytes,
    label: str,
    passkey: bool,
    origin: Origin,
) -> list[str] | None:
    """Store a verified key or passkey under ``label``; returns codes as confirm_totp does."""
    label = label.strip()
    if not label or len(label) > 64:
        raise FactorError("Give the key a name of 1 to 64 characters.")
    if WebAuthnCredential.objects.filter(user=user, label=label).exists():
        raise FactorError(f"You already have a key named '{label}'. Choose another name.")
    ceremonies = _ceremonies()
    try:
        new = ceremonies.verify_registration(credential, challenge, passkey=passkey)
    except ceremonies.CeremonyFailed as failed:
        raise FactorError(failed.message) from None
    try:
        with transaction.atomic():
            lock_account(user)
            WebAuthnCredential.objects.create(
                user=user,
                label=label,
                credential_id=new.credential_id,
                public_key=new.public_key,
                sign_count=new.sign_count,
                discoverable=passkey,
                transports=new.transports,
                aaguid=new.aaguid,
                backed_up=new.backed_up,
            )
            codes = _first_factor_codes(user, origin)
    except IntegrityError:
        raise FactorError("This security key is already registered.") from None
    _factor_added(user, PASSKEY if passkey else WEBAUTHN, origin, label)
    return codes


# ---------------------------------------------------------------------------------------------
# Checking a second factor (sign-in and re-authentication)


def check_limits(user: User | None, origin: Origin) -> None:
    TWO_FACTOR_PER_IP.check(origin.ip_address or "unknown", TOO_MANY_ATTEMPTS)
    if user is not None:
        TWO_FACTOR_PER_USER.check(str(user.pk), TOO_MANY_ATTEMPTS)


def count_failure(user: User | None, origin: Origin, reason: str, message: str) -> FactorError:
    TWO_FACTOR_PER_IP.hit(origin.ip_address or "unknown")
    if user is not None:
        TWO_FACTOR_PER_USER.hit(str(user.pk))
        events.record("account:login:failure", user=user, origin=origin, reason=reason)
    return FactorError(message)


def verify_totp(user: User, code: str, *, origin: Origin) -> None:
    """Accept a code from the user's app once; raise FactorError or ratelimit.RateLimited.

    The step of an accepted code is remembered, and only a later step is accepted afterwards,
    so a code seen over someone's shoulder cannot be replayed, even within its 90 seconds.
    """
    check_limits(user, origin)
    device = TOTPDevice.objects.filter(user=user).first()
    normalized = totp.normalize(code)
    if device is None or normalized is None:
        raise count_failure(
            user, origin, "invalid_totp", MALFORMED_TOTP if device else INVALID_TOTP
        )
    secret = crypto.decrypt(device.encrypted_secret)
    step = totp.matching_step(secret, normalized, steps=totp.ACCEPTED_STEPS)
    if step is None:
        near = totp.matching_step(secret, normalized, steps=totp.OUT_OF_SYNC_STEPS)
        if near is not None:
            raise count_failure(user, origin, "out_of_sync_totp", OUT_OF_SYNC_TOTP)
        raise count_failure(user, origin, "invalid_totp", INVALID_TOTP)
    claimed = TOTPDevice.objects.filter(pk=device.pk, last_used_step__lt=step).update(
        last_used_step=step, last_used=timezone.now()
    )
    if not claimed:
        raise count_failure(user, origin, "replayed_totp", REPLAYED_TOTP)


def use_recovery_code(user: User, code: str, *, origin: Origin) -> int:
    """Spend one recovery code; returns how many are left. Records an event and mails the user."""
    check_limits(user, origin)
    normalized = recovery_codes.normalize(code)
    match = next(
        (
            stored
            for stored in RecoveryCode.objects.filter(user=user)
            if normalized and recovery_codes.matches(normalized, stored.code_hash)
        ),
        None,
    )
    if match is None:
        raise count_failure(user, origin, "invalid_recovery_code", INVALID_RECOVERY_CODE)
    spent = RecoveryCode.objects.filter(pk=match.pk, used_at__isnull=True).update(
        used_at=timezone.now()
    )
    if not spent:
        raise count_failure(user, origin, "burned_recovery_code", USED_RECOVERY_CODE)
    left = unused_recovery_codes(user)
    events.record("account:recovery_codes:used", user=user, origin=origin, left=left)
    notify_account(user, "recovery-code-used", {"left": left})
    return left


def webauthn_authentication_options(user: User | None) -> tuple[str, bytes]:
    """Options for a security key of ``user``, or for any passkey when ``user`` is None."""
    if user is None:
        return _ceremonies().authentication_options(passkey=True)
    return _ceremonies().authentication_options(user.webauthn_credentials.all())


def verify_webauthn(
    credential: dict | str, challenge: bytes, *, user: User | None, origin: Origin
) -> WebAuthnCredential:
    """Check a security key of ``user``, or (``user`` None) a passkey that names its own user.

    A signature counter that fails to move forward means two devices hold the same private key:
    the key is flagged as possibly cloned, the event is recorded, the owner is mailed, and the
    sign-in is refused.
    """
    check_limits(user, origin)
    candidates = (
        WebAuthnCredential.objects.filter(user=user)
        if user is not None
        else WebAuthnCredential.objects.filter(discoverable=True)
    )
    ceremonies = _ceremonies()
    try:
        assertion = ceremonies.verify_assertion(
            credential, challenge, candidates.select_related("user"), passkey=user is None
        )
    except ceremonies.CeremonyFailed as failed:
        raise count_failure(user, origin, "invalid_webauthn", failed.message) from None
    stored = assertion.credential
    check_limits(stored.user, origin)
    if (stored.sign_count or assertion.new_sign_count) and (
        assertion.new_sign_count <= stored.sign_count
    ):
        _flag_clone(stored, assertion.new_sign_count, origin)
        raise count_failure(
            stored.user,
            origin,
            "cloned_webauthn",
            f"The key '{stored.label}' reported a signature counter that went backwards, so it "
            "may have been cloned. It cannot be used to sign in; we emailed you about it. "
            "Sign in another way and remove it.",
        )
    WebAuthnCredential.objects.filter(pk=stored.pk).update(
        sign_count=assertion.new_sign_count, last_used=timezone.now()
    )
    stored.sign_count = assertion.new_sign_count
    return stored


def _flag_clone(credential: WebAuthnCredential, reported: int, origin: Origin) -> None:
    now = timezone.now()
    WebAuthnCredential.objects.filter(pk=credential.pk).update(clone_suspected_at=now)
    credential.clone_suspected_at = now
    events.record(
        "account:two_factor:clone_suspected",
        user=credential.user,
        origin=origin,
        label=credential.label,
        stored_sign_count=credential.sign_count,
        reported_sign_count=reported,
    )
    notify_account(credential.user, "webauthn-clone-suspected", {"label": credential.label})
