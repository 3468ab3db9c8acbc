"""The token page: a token is shown exactly once, listed without its secret, and revocable."""

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from bastion.events.models import SecurityEvent
from bastion.tokens.models import APIToken
from bastion.tokens.services import authenticate

pytestmark = pytest.mark.django_db

TOKENS = reverse("tokens")
SECRET = re.compile(r'value="(bastion-[A-Za-z0-9_-]{43})"')


def create(client, django_capture_on_commit_callbacks, **fields):
    data = {"name": "laptop", "scope": "", "expires_days": "", **fields}
    with django_capture_on_commit_callbacks(execute=True):
        return client.post(TOKENS, data)


def test_token_is_shown_once_and_never_again(
    world, owner_client, django_capture_on_commit_callbacks
):
    response = create(owner_client, django_capture_on_commit_callbacks)
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    secret = SECRET.search(response.content.decode()).group(1)
    assert authenticate(secret) == APIToken.objects.get()
    listing = owner_client.get(TOKENS).content.decode()
    assert "laptop" in listing
    assert secret not in listing
    assert secret[len("bastion-") + 4 :] not in listing  # not even the part after the prefix
    assert secret not in str(dict(owner_client.session))


def test_copy_button_uses_a_static_script_not_an_inline_one(
    world, owner_client, django_capture_on_commit_callbacks
):
    page = create(owner_client, django_capture_on_commit_callbacks).content.decode()
    assert 'data-copy-target="new-token"' in page
    assert re.findall(r"<script[^>]*>", page) == ['<script src="/static/web/copy.js" defer>']


def test_token_creation_is_recorded_and_mailed(
    world, owner_client, mailoutbox, django_capture_on_commit_callbacks
):
    response = create(owner_client, django_capture_on_commit_callbacks, name="ci")
    secret = SECRET.search(response.content.decode()).group(1)
    event = SecurityEvent.objects.get(tag="token:create")
    assert (event.user, event.ip_address) == (world.owner, "203.0.113.7")
    assert [message.to for message in mailoutbox] == [["olivia@example.com"]]
    assert "created" in mailoutbox[0].subject
    assert "ci" in mailoutbox[0].body
    assert secret not in mailoutbox[0].body


def test_project_scoped_token_with_expiry(world, owner_client, django_capture_on_commit_callbacks):
    create(owner_client, django_capture_on_commit_callbacks, scope="widget", expires_days="30")
    token = APIToken.objects.get()
    assert token.project == world.project
    assert timedelta(days=29, hours=23) < token.expires - timezone.now() <= timedelta(days=30)
    listing = owner_client.get(TOKENS).content.decode()
    assert "Widget" in listing and token.expires.strftime("%Y-%m-%d") in listing


def test_maintainer_may_scope_a_token_to_the_project(world, django_capture_on_commit_callbacks):
    client = world.client_for(world.maintainer)
    create(client, django_capture_on_commit_callbacks, scope="widget")
    assert APIToken.objects.get().project == world.project


def test_scope_is_limited_to_the_users_projects(world, django_capture_on_commit_callbacks):
    client = world.client_for(world.stranger)
    assert b'value="widget"' not in client.get(TOKENS).content
    response = create(client, django_capture_on_commit_callbacks, scope="widget")
    assert response.status_code == 400
    assert b"Select a valid choice" in response.content
    assert not APIToken.objects.exists()


@pytest.mark.parametrize(("field", "value"), [("name", ""), ("expires_days", "0")])
def test_invalid_input_shows_an_error_and_mints_nothing(
    world, owner_client, django_capture_on_commit_callbacks, field, value
):
    response = create(owner_client, django_capture_on_commit_callbacks, **{field: value})
    assert response.status_code == 400
    assert b'class="field field-error"' in response.content
    assert not APIToken.objects.exists()


def test_unverified_user_is_refused_by_the_gate(
    world, owner_client, django_capture_on_commit_callbacks
):
    world.owner.emails.update(verified=False)
    response = create(owner_client, django_capture_on_commit_callbacks)
    assert response.status_code == 403
    assert b"verified primary email" in response.content
    assert not APIToken.objects.exists()


def test_revoked_token_no_longer_authenticates(
    world, owner_client, mailoutbox, django_capture_on_commit_callbacks
):
    secret = SECRET.search(
        create(owner_client, django_capture_on_commit_callbacks).content.decode()
    ).group(1)
    token = APIToken.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(reverse("revoke_token", args=[token.pk]))
    assert response.status_code == 302
    assert authenticate(secret) is None
    assert SecurityEvent.objects.filter(tag="token:revoke", user=world.owner).exists()
    assert "revoked" in mailoutbox[-1].subject
    assert b"revoked" in owner_client.get(TOKENS).content


def test_cannot_revoke_someone_elses_token(world, owner_client, django_capture_on_commit_callbacks):
    secret = SECRET.search(
        create(owner_client, django_capture_on_commit_callbacks).content.decode()
    ).group(1)
    token = APIToken.objects.get()
    stranger = world.client_for(world.stranger)
    assert stranger.post(reverse("revoke_token", args=[token.pk])).status_code == 404
    assert authenticate(secret) is not None
