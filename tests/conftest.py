import pytest

from bastion.accounts.services import create_user
from bastion.packaging import authz


@pytest.fixture
def make_user(db):
    """Build a user with a verified primary email in one line."""

    def make(username: str = "alice", *, verified: bool = True, **kwargs):
        return create_user(
            username=username, email=f"{username}@example.com", verified=verified, **kwargs
        )

    return make


@pytest.fixture
def alice(make_user):
    return make_user("alice")


@pytest.fixture
def actor_for():
    def make(user, token=None):
        return authz.Actor(user=user, token=token)

    return make
