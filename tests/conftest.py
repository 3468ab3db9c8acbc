import pytest

from bastion.accounts.services import create_user
from bastion.packaging import authz
from tests import e2e_progress


@pytest.hookimpl(trylast=True)  # after the terminal reporter is set up
def pytest_configure(config):
    e2e_progress.register(config)


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


def pytest_collection_modifyitems(config, items):
    """Tests marked ``postgres`` belong to the PostgreSQL leg; on SQLite they are deselected.

    They are deselected rather than skipped because ``BASTION_REQUIRE_TOOLS=1`` turns skips into
    failures, and the SQLite leg is not where they run. ``.ci/run`` runs them in its second leg.
    """
    from django.db import connection

    if connection.vendor == "postgresql":
        return
    kept = [item for item in items if item.get_closest_marker("postgres") is None]
    if len(kept) != len(items):
        config.hook.pytest_deselected(items=[i for i in items if i not in kept])
        items[:] = kept
