"""Read-only tokens: they install from a private index and the gate refuses them every upload."""

from types import SimpleNamespace

import pytest
from django.test import Client

from bastion import authz, cli
from bastion.events.models import SecurityEvent
from bastion.mfa import reauth
from bastion.packaging.models import Project, Role, RoleName
from bastion.tokens.models import APIToken
from bastion.tokens.services import authenticate, create_token
from tests.upload import dists
from tests.upload.conftest import Uploader, index_state

pytestmark = pytest.mark.django_db


@pytest.fixture
def read_only_uploader(alice) -> Uploader:
    minted = create_token(actor=authz.Actor(alice), name="laptop", read_only=True)
    return Uploader(Client(), alice, minted.secret)


def test_read_only_token_is_refused_by_the_gate_with_a_reason(alice):
    project = Project.objects.create(name="Spam", normalized_name="spam")
    Role.objects.create(user=alice, project=project, role_name=RoleName.OWNER)
    token = create_token(actor=authz.Actor(alice), name="ci", read_only=True).token

    decision = authz.may(authz.Actor(alice, token), authz.Action.UPLOAD, project)

    assert not decision.allowed
    assert "read-only" in decision.reason and "Spam" in decision.reason
    assert decision.fix_url == authz.TOKENS_PATH


def test_read_only_token_upload_gets_403_with_the_reason_and_no_use_event(read_only_uploader):
    response = read_only_uploader.upload(dists.wheel().form())

    assert response.status_code == 403
    assert "read-only" in response.reason_phrase
    assert index_state() == response.state_before
    assert not SecurityEvent.objects.filter(tag="token:use").exists()
    assert APIToken.objects.get().last_used is None


def test_upload_token_use_is_still_an_event(alice):
    minted = create_token(actor=authz.Actor(alice), name="uploads")
    response = Uploader(Client(), alice, minted.secret).upload(dists.wheel().form())
    assert response.status_code == 200, response.reason_phrase
    assert SecurityEvent.objects.filter(tag="token:use").count() == 1


def test_read_only_token_cannot_be_scoped_to_a_project(alice):
    project = Project.objects.create(name="Spam", normalized_name="spam")
    with pytest.raises(ValueError, match="whole index"):
        create_token(actor=authz.Actor(alice), name="ci", project=project, read_only=True)


def test_cli_mints_a_read_only_token(alice, capsys):
    assert cli.main(["tokens", "create", "alice", "--read-only"]) == 0
    token = authenticate(capsys.readouterr().out.strip())
    assert token is not None and token.read_only


def test_tokens_page_mints_a_read_only_token(alice, client):
    client.force_login(alice)
    session = client.session
    reauth.mark_recent_auth(SimpleNamespace(session=session), "password")
    session.save()
    response = client.post(
        "/manage/account/tokens/", {"name": "laptop", "scope": "", "read_only": "on"}
    )
    assert response.status_code == 200, response.content[:500]
    assert APIToken.objects.get().read_only
    assert b"read-only" in response.content
