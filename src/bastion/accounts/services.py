"""Account operations shared by the CLI and the web UI.

Login is two steps so that a second factor can sit between them: :func:`authenticate_password`
answers "is this the account's password?" (with rate limits and events), and
:func:`complete_login` starts the session. Nothing else logs a person in.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from django.conf import settings
from django.contrib import auth
from django.contrib.auth.password_validation import validate_password
from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.core import signing
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from bastion.accounts import mail, passwords, ratelimit
from bastion.accounts.models import Email, User
from bastion.events import services as events
from bastion.events.services import CLI, Origin
from bastion.jobs.after_response import enqueue_after_response

INVALID_LOGIN = "The username or password is not correct."
BREACHED_LOGIN = (
    "This password has appeared in a data breach of another service, so it no longer works "
    "here. We sent a link to choose a new one to your verified email addresses."
)
BREACHED_LOGIN_NO_ADDRESS = (
    "This password has appeared in a data breach of another service, so it no longer works "
    "here. Your account has no verified email address to send a reset link to: ask an "
    "administrator."
)
TOO_MANY_LOGINS = "Too many failed login attempts."
TOO_MANY_RESETS = "Too many password reset requests."
TOO_MANY_VERIFICATION_MAILS = "Too many verification emails requested."
TOO_MANY_REGISTRATIONS = "Too many new accounts from your network."

VERIFY_SALT = "bastion.accounts.verify-email"
VERIFY_MAX_AGE = 24 * 3600


class AccountError(Exception):
    pass


class LoginRefused(Exception):
    """The password step failed. The message never says whether the account exists."""


# ---------------------------------------------------------------------------------------------
# Creating accounts


def create_user(
    *,
    username: str,
    email: str,
    password: str | None = None,
    admin: bool = False,
    verified: bool = False,
    origin: Origin = CLI,
) -> User:
    """Create a user with a primary email. Without a password the account can only use tokens."""
    if User.objects.filter(username__iexact=username).exists():
        raise AccountError(f"The username '{username}' is taken.")
    if Email.objects.filter(email__iexact=email).exists():
        raise AccountError("That email address is already in use.")
    user = User(username=username, is_staff=admin, is_superuser=admin)
    if password:
        validate_password(password, User(username=username, email=email))  # addresses too
        user.set_password(password)
    else:
        user.set_unusable_password()
    with transaction.atomic():
        user.save()
        Email.objects.create(
            user=user,
            email=email,
            primary=True,
            verified=verified,
            verified_at=timezone.now() if verified else None,
        )
        events.record("account:create", user=user, origin=origin)
    return user


def register(request: HttpRequest, *, username: str, email: str, password: str) -> User:
    """Create an account from the sign-up form, log it in and mail a verification link."""
    origin = Origin.from_request(request)
    ip_key = origin.ip_address or "unknown"
    ratelimit.REGISTRATION_PER_IP.check(ip_key, TOO_MANY_REGISTRATIONS)
    user = create_user(username=username, email=email, password=password, origin=origin)
    ratelimit.REGISTRATION_PER_IP.hit(ip_key)
    complete_login(request, user, method="registration")
    send_verification(user.emails.get(primary=True), origin=origin)
    return user


# ---------------------------------------------------------------------------------------------
# Logging in and out


def authenticate_password(request: HttpRequest, *, username: str, password: str) -> User:
    """Check a username and password; raise LoginRefused or RateLimited. Does not log in.

    The limits are checked before the password, so a locked account stays locked even for the
    right password, and only failures count against them.
    """
    origin = Origin.from_request(request)
    account_key = username.strip().lower()
    ip_key = origin.ip_address or "unknown"
    ratelimit.LOGIN_PER_IP.check(ip_key, TOO_MANY_LOGINS)
    ratelimit.LOGIN_PER_ACCOUNT.check(account_key, TOO_MANY_LOGINS)
    known = User.objects.filter(username__iexact=account_key).first()
    user = auth.authenticate(
        request, username=known.username if known else username, password=password
    )
    if user is None:
        ratelimit.LOGIN_PER_IP.hit(ip_key)
        ratelimit.LOGIN_PER_ACCOUNT.hit(account_key)
        if known is not None:
            events.record(
                "account:login:failure", user=known, origin=origin, reason="invalid_password"
            )
        raise LoginRefused(INVALID_LOGIN)
    if passwords.breach_count(password) > 0:
        _disable_breached_password(user, origin)
    return user


def _disable_breached_password(user: User, origin: Origin) -> None:
    """The right password, but one listed in a breach: attackers try those first, so it stops
    working now, and the account's verified addresses get a link to choose a new one."""
    user.set_unusable_password()
    user.save(update_fields=["password"])
    events.record("account:password:disabled", user=user, origin=origin, reason="breached")
    addresses = list(user.emails.filter(verified=True).values_list("email", flat=True))
    if addresses:
        mail.send_later("password-breached", addresses, {"user": user, "link": _reset_link(user)})
    raise LoginRefused(BREACHED_LOGIN if addresses else BREACHED_LOGIN_NO_ADDRESS)


def complete_login(request: HttpRequest, user: User, *, method: str = "password") -> None:
    """Start the session for a user who passed every step. Rotates the session key and CSRF."""
    auth.login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    events.record(
        "account:login:success", user=user, origin=Origin.from_request(request), method=method
    )


def log_out(request: HttpRequest) -> None:
    if request.user.is_authenticated:
        events.record("account:logout", user=request.user, origin=Origin.from_request(request))
    auth.logout(request)


# ---------------------------------------------------------------------------------------------
# Passwords


def change_password(request: HttpRequest, user: User, new_password: str) -> None:
    """Set a password the form has validated; every other session of the user ends."""
    user.set_password(new_password)
    user.save(update_fields=["password"])
    # The session hash follows the password: other sessions no longer match and are logged out.
    auth.update_session_auth_hash(request, user)
    events.record("account:password:change", user=user, origin=Origin.from_request(request))
    notify_account(user, "password-changed")


class ResetTokenGenerator(PasswordResetTokenGenerator):
    """Django's reset tokens, also bound to the account's verified addresses.

    A link dies when the password changes, on the next login, after PASSWORD_RESET_TIMEOUT, and
    when any address of the account stops being verified (an expired domain, a removal): a
    link already sitting in a lapsed domain's mailbox must not be a way in.
    """

    key_salt = "bastion.accounts.services.ResetTokenGenerator"

    def _make_hash_value(self, user, timestamp):
        verified = sorted(
            address.lower()
            for address in user.emails.filter(verified=True).values_list("email", flat=True)
        )
        return super()._make_hash_value(user, timestamp) + ",".join(verified)


reset_tokens = ResetTokenGenerator()


def request_password_reset(*, address: str, origin: Origin) -> None:
    """Count a reset request and hand it to a task: the same work whoever the address is.

    The answer is one neutral message, and it must take as long for an unknown address as for
    a verified one, or its time tells which addresses have accounts. So the request only
    checks the rate limits and enqueues :func:`send_password_reset` once the response has been
    sent (see ``bastion.jobs.after_response``); the lookup, the token, the mail and the event
    all happen there.
    """
    from bastion.accounts import tasks  # tasks imports domains, which imports this module

    key = address.strip().lower()
    ip_key = origin.ip_address or "unknown"
    ratelimit.PASSWORD_RESET_PER_IP.check(ip_key, TOO_MANY_RESETS)
    ratelimit.PASSWORD_RESET_PER_ACCOUNT.check(key, TOO_MANY_RESETS)
    ratelimit.PASSWORD_RESET_PER_IP.hit(ip_key)
    ratelimit.PASSWORD_RESET_PER_ACCOUNT.hit(key)
    enqueue_after_response(
        tasks.send_password_reset,
        address=key,
        ip_address=origin.ip_address,
        user_agent=origin.user_agent,
    )


def send_password_reset(*, address: str, origin: Origin) -> None:
    """Mail a reset link if ``address`` is a verified address of an active account.

    Runs as a task, after the request's answer. Unverified addresses get no mail, since whoever
    controls them now may not be the account's owner.
    """
    email = Email.objects.select_related("user").filter(email__iexact=address).first()
    if email is None:
        return
    user = email.user
    if not email.verified or not user.is_active:
        events.record(
            "account:password:reset:attempt", user=user, origin=origin, reason="unverified"
        )
        return
    mail.send("password-reset", [email.email], {"user": user, "link": _reset_link(user)})
    events.record("account:password:reset:request", user=user, origin=origin)


def _reset_link(user: User) -> str:
    path = reverse(
        "accounts:reset-confirm",
        kwargs={
            "uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
            "token": reset_tokens.make_token(user),
        },
    )
    return settings.BASE_URL + path


def reset_password(user: User, new_password: str, *, origin: Origin) -> None:
    """Set a password through a reset link the view has checked; other sessions end."""
    user.set_password(new_password)
    user.save(update_fields=["password"])
    ratelimit.LOGIN_PER_ACCOUNT.clear(user.username.lower())
    events.record("account:password:reset", user=user, origin=origin)
    notify_account(user, "password-reset-done")


# ---------------------------------------------------------------------------------------------
# Email addresses


def notify_account(user: User, message: str, context: dict | None = None, also: Iterable = ()):
    """Tell the account's verified addresses (and ``also``) that something changed."""
    verified = user.emails.filter(verified=True).values_list("email", flat=True)
    mail.send_later(message, [*verified, *also], {"user": user, **(context or {})})


def _verification_state(email: Email) -> str:
    """Changes whenever the address is verified or unverified, so old links stop working."""
    state = f"{email.pk}|{email.email.lower()}|{email.verified_at}|{email.unverified_reason}"
    return hashlib.sha256(state.encode()).hexdigest()[:16]


def verification_token(email: Email) -> str:
    return signing.dumps({"id": email.pk, "state": _verification_state(email)}, salt=VERIFY_SALT)


def send_verification(email: Email, *, origin: Origin) -> None:
    """Mail a link that verifies ``email`` when its owner opens it while logged in."""
    ratelimit.VERIFICATION_MAIL_PER_ACCOUNT.check(str(email.user_id), TOO_MANY_VERIFICATION_MAILS)
    ratelimit.VERIFICATION_MAIL_PER_ACCOUNT.hit(str(email.user_id))
    link = settings.BASE_URL + reverse(
        "accounts:verify-email", kwargs={"token": verification_token(email)}
    )
    mail.send_later(
        "verify-email", [email.email], {"user": email.user, "email": email, "link": link}
    )


def verify_email(*, user: User, token: str, origin: Origin) -> Email:
    """Mark an address verified from a link. Only the logged-in owner can use the link."""
    try:
        data = signing.loads(token, salt=VERIFY_SALT, max_age=VERIFY_MAX_AGE)
    except signing.SignatureExpired:
        raise AccountError(
            "This verification link has expired. Ask for a new one on your account page."
        ) from None
    except signing.BadSignature:
        raise AccountError("This verification link is not valid.") from None
    email = Email.objects.filter(pk=data.get("id"), user=user).first()
    if email is None:
        raise AccountError("This verification link is for an address that is not on your account.")
    if email.verified:
        return email
    if data.get("state") != _verification_state(email):
        raise AccountError("This verification link is no longer valid. Ask for a new one.")
    email.verified = True
    email.verified_at = timezone.now()
    email.unverified_reason = ""
    email.save(update_fields=["verified", "verified_at", "unverified_reason"])
    events.record("account:email:verified", user=user, origin=origin, email=email.email)
    notify_account(user, "email-verified", {"address": email.email})
    return email


def add_email(*, user: User, address: str, origin: Origin) -> Email:
    """Add an unverified address and mail it a verification link."""
    address = address.strip()
    if Email.objects.filter(email__iexact=address).exists():
        raise AccountError("That email address is already in use.")
    ratelimit.VERIFICATION_MAIL_PER_ACCOUNT.check(str(user.pk), TOO_MANY_VERIFICATION_MAILS)
    try:
        with transaction.atomic():
            email = Email.objects.create(user=user, email=address)
    except IntegrityError:
        raise AccountError("That email address is already in use.") from None
    events.record("account:email:add", user=user, origin=origin, email=address)
    notify_account(user, "email-added", {"address": address})
    send_verification(email, origin=origin)
    return email


def _own_email(user: User, email_id: int) -> Email:
    email = user.emails.filter(pk=email_id).first()
    if email is None:
        raise AccountError("That address is not on your account.")
    return email


def resend_verification(*, user: User, email_id: int, origin: Origin) -> Email:
    email = _own_email(user, email_id)
    if email.verified:
        raise AccountError(f"{email.email} is already verified.")
    send_verification(email, origin=origin)
    return email


def remove_email(*, user: User, email_id: int, origin: Origin) -> str:
    """Remove a non-primary address; it is told too, if it was verified."""
    email = _own_email(user, email_id)
    if email.primary:
        raise AccountError(
            "You can't remove your primary address. Make another verified address primary first."
        )
    was_verified, address = email.verified, email.email
    email.delete()
    events.record("account:email:remove", user=user, origin=origin, email=address)
    notify_account(
        user, "email-removed", {"address": address}, also=[address] if was_verified else []
    )
    return address


def set_primary_email(*, user: User, email_id: int, origin: Origin) -> Email:
    """Make a verified address primary; the old primary is told as well."""
    email = _own_email(user, email_id)
    if not email.verified:
        raise AccountError("Only a verified address can be primary. Verify it first.")
    if email.primary:
        return email
    old = user.primary_email()
    with transaction.atomic():
        user.emails.filter(primary=True).update(primary=False)
        email.primary = True
        email.save(update_fields=["primary"])
    events.record(
        "account:email:primary:change",
        user=user,
        origin=origin,
        old=old.email if old else None,
        new=email.email,
    )
    notify_account(
        user,
        "primary-email-changed",
        {"old": old.email if old else None, "new": email.email},
        also=[old.email] if old else [],
    )
    return email
