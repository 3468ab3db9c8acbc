"""A new project counts against the creation limits only if its creation commits."""

import pytest
from django.db import transaction

from bastion import authz
from bastion.accounts import ratelimit
from bastion.authz import creation
from bastion.events.services import Origin

pytestmark = pytest.mark.django_db


class LostRace(Exception):
    pass


def test_a_creation_rolled_back_is_not_counted_even_with_limits_in_redis(settings, make_user):
    """Multi-server review finding: with Redis holding the rate limits, an upload that lost the
    race for a new name (its transaction rolled back) still used up the account's and the
    address's allowance of new projects. Redis is stood in for by an in-process cache: neither
    follows the database's rollback."""
    settings.CACHES = {
        **settings.CACHES,
        "ratelimit": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    }
    settings.RATELIMIT_PROJECTS_PER_USER = ((1, 3600),)
    alice = make_user("alice")
    origin = Origin(ip_address="192.0.2.7", user_agent="test")

    with pytest.raises(LostRace), transaction.atomic():
        creation.create_project(actor=authz.Actor(alice), name="lost-race", origin=origin)
        raise LostRace  # the rival's row won: this transaction rolls back

    project = creation.create_project(actor=authz.Actor(alice), name="the-one", origin=origin)
    assert project.pk is not None
    with pytest.raises(ratelimit.RateLimited):  # and the limit still holds for what commits
        creation.create_project(actor=authz.Actor(alice), name="one-too-many", origin=origin)
