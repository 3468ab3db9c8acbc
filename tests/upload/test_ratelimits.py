"""Limits beyond the sign-in forms: failed token authentication, new projects and uploads.

Each refusal is a 429 with ``Retry-After`` and a reason phrase that says what happened and when
to try again (all that twine shows), and it leaves nothing stored.
"""

import time

import pytest
from django.test import Client

from bastion import authz
from bastion.packaging.models import Project
from bastion.tokens.services import create_token
from tests.upload import dists
from tests.upload.conftest import Uploader, basic_auth, index_state

pytestmark = pytest.mark.django_db

HERE, THERE = "192.0.2.1", "198.51.100.2"


@pytest.fixture(autouse=True)
def _no_limit_used(fresh_rate_limits):
    yield


def uploader_for(user) -> Uploader:
    return Uploader(Client(), user, create_token(actor=authz.Actor(user), name="t").secret)


def assert_too_many(response, reason: str):
    assert response.status_code == 429, response.reason_phrase
    assert response.reason_phrase.startswith(reason), response.reason_phrase
    assert "Try again in" in response.reason_phrase
    assert int(response["Retry-After"]) > 0
    assert index_state() == response.state_before


def test_failed_token_authentication_is_limited_per_address(settings, uploader):
    settings.RATELIMIT_TOKEN_FAILURES_PER_IP = ((3, 60),)
    wrong = basic_auth("__token__", "bastion-not-a-token")
    for _ in range(3):
        assert (
            uploader.upload(dists.wheel().form(), auth=wrong, REMOTE_ADDR=HERE).status_code == 403
        )

    guessing = uploader.upload(dists.wheel().form(), auth=wrong, REMOTE_ADDR=HERE)
    assert_too_many(guessing, "Too many failed authentications from your address.")
    # Locked out is locked out, even with the right token; another address is not.
    assert_too_many(uploader.upload(dists.wheel().form(), REMOTE_ADDR=HERE), "Too many failed")
    assert uploader.upload(dists.wheel().form(), REMOTE_ADDR=THERE).status_code == 200


def test_passwords_tried_as_upload_credentials_count_as_failures(settings, uploader):
    settings.RATELIMIT_TOKEN_FAILURES_PER_IP = ((1, 60),)
    password = basic_auth("alice", "hunter2")
    assert uploader.upload(dists.wheel().form(), auth=password, REMOTE_ADDR=HERE).status_code == 403
    refused = uploader.upload(dists.wheel().form(), auth=password, REMOTE_ADDR=HERE)
    assert_too_many(refused, "Too many failed authentications")


def test_project_creation_is_limited_per_account(settings, uploader):
    settings.RATELIMIT_PROJECTS_PER_USER = ((2, 3600),)
    for name in ("first", "second"):
        assert uploader.upload(dists.wheel(name).form(), REMOTE_ADDR=HERE).status_code == 200

    third = uploader.upload(dists.wheel("third").form(), REMOTE_ADDR=THERE)
    assert_too_many(third, "Too many new projects created.")
    assert not Project.objects.filter(normalized_name="third").exists()
    # New releases of existing projects are not project creation.
    assert uploader.upload(dists.wheel("first", "2.0").form()).status_code == 200


def test_project_creation_is_limited_per_address(settings, uploader, make_user):
    settings.RATELIMIT_PROJECTS_PER_IP = ((1, 3600),)
    bob = uploader_for(make_user("bob"))
    assert uploader.upload(dists.wheel("first").form(), REMOTE_ADDR=HERE).status_code == 200

    assert_too_many(
        bob.upload(dists.wheel("second").form(), REMOTE_ADDR=HERE), "Too many new projects"
    )
    assert bob.upload(dists.wheel("second").form(), REMOTE_ADDR=THERE).status_code == 200


def test_uploads_are_limited_per_account(settings, uploader, make_user):
    settings.RATELIMIT_UPLOADS_PER_USER = ((2, 60),)
    assert uploader.upload(dists.wheel("grail", "1.0").form()).status_code == 200
    assert uploader.upload(dists.sdist("grail", "1.0").form()).status_code == 200

    refused = uploader.upload(dists.wheel("grail", "1.1").form())
    assert_too_many(refused, "Too many uploads from your account.")
    assert uploader_for(make_user("bob")).upload(dists.wheel("other").form()).status_code == 200


def test_the_default_upload_limit_lets_twine_send_two_hundred_files(settings):
    """twine sends a release's files one after another; 200 of them must not be refused."""
    assert all(count > 200 for count, _seconds in settings.RATELIMIT_UPLOADS_PER_USER)


def test_creations_that_raced_past_the_early_check_are_judged_when_counted(settings, alice):
    """The limits checked before the archive is read may be used up by concurrent creations
    before this one commits: the count in its transaction decides, and a creation refused by
    the address's limit counts against neither the address nor the account."""
    from django.db import transaction

    from bastion.accounts import ratelimit
    from bastion.authz import creation
    from bastion.events.services import Origin

    settings.RATELIMIT_PROJECTS_PER_IP = ((1, 3600),)
    settings.RATELIMIT_PROJECTS_PER_USER = ((5, 3600),)
    here, actor = Origin(ip_address=HERE), authz.Actor(alice)
    creation.check_project_creation_limits(alice, here)  # both an upload's early checks pass
    with transaction.atomic():
        creation.create_project(actor=actor, name="first", origin=here)
    # Outside a transaction, as Redis counts: its counts are not rolled back with the creation.
    with pytest.raises(ratelimit.RateLimited):
        creation.create_project(actor=actor, name="second", origin=here)

    assert not Project.objects.filter(normalized_name="second").exists()
    account = ratelimit.PROJECTS_PER_ACCOUNT
    assert account.retry_after(str(alice.pk)) is None
    assert account._estimate(account.limits[0], str(alice.pk), time.time()) == 1
