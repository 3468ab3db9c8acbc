import time

import pyotp
import pytest

from bastion.events.services import Origin
from bastion.mfa import services, totp
from tests.mfa.authenticator import SoftAuthenticator

ORIGIN = Origin(ip_address="198.51.100.7", user_agent="pytest")


@pytest.fixture(autouse=True)
def _fresh_rate_limits(fresh_rate_limits):
    """Each test starts with no rate limit used."""
    yield


@pytest.fixture
def origin():
    return ORIGIN


@pytest.fixture
def authenticator(settings):
    settings.BASE_URL = "http://localhost:8000"
    return SoftAuthenticator("http://localhost:8000")


@pytest.fixture
def enrol_totp(db):
    """Give ``user`` an authenticator app; returns its secret. The confirming code is spent."""

    def enrol(user, at: float | None = None) -> str:
        secret = totp.new_secret()
        at = time.time() - 30 if at is None else at
        services.confirm_totp(user, secret=secret, code=code_at(secret, at), origin=ORIGIN)
        return secret

    return enrol


def code_at(secret: str, when: float) -> str:
    return pyotp.TOTP(secret).at(when)


@pytest.fixture
def enrol_key(db, authenticator):
    """Register a security key (or a passkey) for ``user`` with the software authenticator."""

    def enrol(user, label: str = "my key", *, passkey: bool = False, device=None):
        device = device or authenticator
        options, challenge = services.webauthn_registration_options(user, passkey=passkey)
        return services.add_webauthn(
            user,
            credential=device.create(options),
            challenge=challenge,
            label=label,
            passkey=passkey,
            origin=ORIGIN,
        )

    return enrol
