import pytest

from bastion.mfa import services
from tests.factories import ORIGIN, code_at  # noqa: F401 - the mfa tests import them from here
from tests.mfa.authenticator import SoftAuthenticator


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
