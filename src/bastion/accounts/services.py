"""Account operations shared by the CLI and the web UI."""

from django.contrib.auth.password_validation import validate_password
from django.db import transaction

from bastion.accounts.models import Email, User
from bastion.events import services as events
from bastion.events.services import CLI, Origin


class AccountError(Exception):
    pass


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
        validate_password(password, user)
        user.set_password(password)
    else:
        user.set_unusable_password()
    with transaction.atomic():
        user.save()
        Email.objects.create(user=user, email=email, primary=True, verified=verified)
        events.record("account:create", user=user, origin=origin)
    return user
