"""API tokens: random, prefixed, hashed at rest, scoped, expiring, revocable."""

from datetime import timedelta

import pytest
from django.utils import timezone

from bastion.authz import Actor, Code, Refused
from bastion.events.models import SecurityEvent
from bastion.events.services import CLI, Origin
from bastion.packaging.models import Project, Role, RoleName
from bastion.tokens.models import APIToken
from bastion.tokens.services import (
    USE_RECORD_INTERVAL,
    authenticate,
    create_token,
    mark_used,
    revoke,
)

pytestmark = pytest.mark.django_db


def test_token_has_prefix_and_only_its_digest_is_stored(alice):
    minted = create_token(actor=Actor(alice), name="laptop")
    assert minted.secret.startswith("bastion-") and len(minted.secret) > 40
    row = APIToken.objects.get()
    assert minted.secret not in (row.digest, row.display_prefix)
    assert row.display_prefix == minted.secret[:12]
    assert authenticate(minted.secret) == row


def test_two_tokens_are_different(alice):
    first = create_token(actor=Actor(alice), name="a").secret
    assert first != create_token(actor=Actor(alice), name="b").secret


@pytest.mark.parametrize(
    "secret", ["", "bastion-", "bastion-wrong", "pypi-AgEIcHlwaS5vcmc", "not-a-token"]
)
def test_unknown_secrets_do_not_authenticate(alice, secret):
    create_token(actor=Actor(alice), name="laptop")
    assert authenticate(secret) is None


def test_expired_token_does_not_authenticate(alice):
    minted = create_token(actor=Actor(alice), name="short", expires_days=1)
    APIToken.objects.update(expires=timezone.now() - timedelta(seconds=1))
    assert authenticate(minted.secret) is None


def test_revoked_token_does_not_authenticate(alice):
    minted = create_token(actor=Actor(alice), name="laptop")
    revoke(minted.token)
    assert authenticate(minted.secret) is None
    assert SecurityEvent.objects.filter(tag="token:revoke", user=alice).exists()


def test_token_of_disabled_user_does_not_authenticate(alice):
    minted = create_token(actor=Actor(alice), name="laptop")
    alice.is_active = False
    alice.save()
    assert authenticate(minted.secret) is None


def test_a_token_is_found_with_its_account_in_one_query(alice, django_assert_num_queries):
    minted = create_token(actor=Actor(alice), name="laptop")

    with django_assert_num_queries(1):
        token = authenticate(minted.secret)
        assert (token.user, token.user.username, token.user.is_active) == (alice, "alice", True)
        assert token.project is None and token.publisher is None  # neither: nothing to load

    stored = APIToken.objects.get()
    assert [getattr(token, f.attname) for f in APIToken._meta.concrete_fields] == [
        getattr(stored, f.attname) for f in APIToken._meta.concrete_fields
    ]


def test_a_scoped_token_loads_its_project_when_used(alice):
    project = Project.objects.create(name="Spam", normalized_name="spam")
    Role.objects.create(user=alice, project=project, role_name=RoleName.OWNER)
    minted = create_token(actor=Actor(alice), name="ci", project=project)

    assert authenticate(minted.secret).project == project


def test_use_is_recorded(alice):
    minted = create_token(actor=Actor(alice), name="laptop")
    mark_used(minted.token, CLI)
    assert APIToken.objects.get().last_used is not None
    assert SecurityEvent.objects.filter(tag="token:use").count() == 1


def test_uses_from_one_address_within_the_interval_are_one_record(alice):
    token = create_token(actor=Actor(alice), name="ci").token
    here = Origin("192.0.2.1", "twine")
    for _ in range(3):  # twine sending three files
        mark_used(token, here)

    events = SecurityEvent.objects.filter(tag="token:use")
    assert [(event.ip_address, event.additional) for event in events] == [
        ("192.0.2.1", {"token": "ci"})
    ]
    stored = APIToken.objects.get()
    assert stored.last_used == token.last_used and stored.last_used_ip == "192.0.2.1"


def test_a_use_from_another_address_is_recorded_at_once(alice):
    token = create_token(actor=Actor(alice), name="ci").token
    mark_used(token, Origin("192.0.2.1", "twine"))
    mark_used(token, Origin("198.51.100.7", "twine"))
    mark_used(token, Origin("192.0.2.1", "twine"))  # back again: a change of address each time

    addresses = SecurityEvent.objects.filter(tag="token:use").order_by("id")
    assert [event.ip_address for event in addresses] == [
        "192.0.2.1",
        "198.51.100.7",
        "192.0.2.1",
    ]
    assert APIToken.objects.get().last_used_ip == "192.0.2.1"


def test_a_use_after_the_interval_is_recorded_again(alice):
    token = create_token(actor=Actor(alice), name="ci").token
    here = Origin("192.0.2.1", "twine")
    mark_used(token, here)
    earlier = timezone.now() - USE_RECORD_INTERVAL - timedelta(seconds=1)
    APIToken.objects.update(last_used=earlier)
    token.refresh_from_db()

    mark_used(token, here)

    assert SecurityEvent.objects.filter(tag="token:use").count() == 2
    assert APIToken.objects.get().last_used > earlier


def test_creation_is_recorded_without_the_secret(alice):
    minted = create_token(actor=Actor(alice), name="laptop")
    event = SecurityEvent.objects.get(tag="token:create")
    assert minted.secret not in str(event.additional)


def test_scoped_token_needs_a_role_on_the_project(alice, make_user):
    project = Project.objects.create(name="Spam", normalized_name="spam")
    Role.objects.create(user=alice, project=project, role_name=RoleName.OWNER)
    with pytest.raises(Refused) as refused:
        create_token(actor=Actor(make_user("mallory")), name="x", project=project)
    assert refused.value.code == Code.ROLE_REQUIRED


def test_unverified_user_cannot_create_tokens(make_user):
    with pytest.raises(Refused) as refused:
        create_token(actor=Actor(make_user("carol", verified=False)), name="x")
    assert refused.value.code == Code.EMAIL_UNVERIFIED
