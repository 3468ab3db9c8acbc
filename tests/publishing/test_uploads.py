"""Uploads with a traded token: through the one gate, as the publisher, recorded with its claims."""

import pytest
from django.test import Client

from bastion import authz
from bastion.events.models import SecurityEvent
from bastion.packaging.models import File
from bastion.publishing import services
from tests.publishing.conftest import (
    github_claims,
    gitlab_claims,
    publish_from_octo_widget,
    trade,
)
from tests.upload import dists
from tests.upload.conftest import Uploader

pytestmark = pytest.mark.django_db


@pytest.fixture
def critical_widget(make_project, designate, alice):
    """A critical project past its enforcement date whose only owner has no second factor."""
    project = make_project("widget", owners=[alice])
    designate("widget", enforced=True)
    return project


def test_publisher_uploads_to_critical_project_without_a_persons_second_factor(
    exchange, critical_widget, alice
):
    secret = trade(exchange, critical_widget)

    response = Uploader(Client(), alice, secret).upload(dists.wheel("widget", "1.0").form())

    assert response.status_code == 200, response.reason_phrase
    assert File.objects.get().release.project == critical_widget
    event = SecurityEvent.objects.get(tag="file:upload")
    assert event.additional["publisher"] == "GitHub Actions: octo/widget workflow release.yml"
    claims = event.additional["claims"]
    assert claims["repository"] == "octo/widget"
    assert claims["workflow"] == "release.yml"
    assert claims["ref"] == "refs/tags/v1.0"
    assert claims["sha"] == "0123456789abcdef0123456789abcdef01234567"
    assert claims["environment"] == "pypi"
    assert claims["run_id"] == "987654"
    assert claims["run_url"] == "https://github.com/octo/widget/actions/runs/987654"
    assert File.objects.get().uploaded_via == "trusted_publisher"


def test_gitlab_publisher_upload_event_records_the_pipeline_that_made_it(
    exchange, make_project, alice
):
    project = make_project("widget", owners=[alice])
    services.add_publisher(
        actor=authz.Actor.operator(),
        project=project,
        kind="gitlab",
        repository="group/widget",
        workflow=".gitlab-ci.yml",
        environment="pypi",
    )
    minted = exchange.mint(gitlab_claims(environment="pypi"))
    assert minted.status_code == 200, minted.content

    uploader = Uploader(Client(), alice, minted.json()["token"])
    response = uploader.upload(dists.wheel("widget", "1.0").form())

    assert response.status_code == 200, response.reason_phrase
    event = SecurityEvent.objects.get(tag="file:upload")
    assert event.additional["publisher"] == (
        "GitLab CI/CD: group/widget workflow .gitlab-ci.yml environment pypi"
    )
    assert event.additional["claims"] == {
        "repository": "group/widget",
        "workflow": ".gitlab-ci.yml",
        "ref": "refs/tags/v1.0",
        "sha": "89abcdef0123456789abcdef0123456789abcdef",
        "environment": "pypi",
        "run_id": "1234",
        "run_url": "https://gitlab.com/group/widget/-/pipelines/1234",
    }


def test_the_same_owners_own_token_is_still_refused_on_the_critical_project(
    critical_widget, alice, uploader_for_alice
):
    response = uploader_for_alice.upload(dists.wheel("widget", "1.0").form())

    assert response.status_code == 403
    assert "two-factor" in response.reason_phrase


@pytest.fixture
def uploader_for_alice(alice, enrol_totp):
    """Alice's own user-wide token, made while she had a factor (which she has since lost)."""
    from bastion import authz
    from bastion.mfa.models import TOTPDevice
    from bastion.tokens.services import create_token

    enrol_totp(alice)
    minted = create_token(actor=authz.Actor(alice), name="mine")
    TOTPDevice.objects.filter(user=alice).delete()
    return Uploader(Client(), alice, minted.secret)


def test_publisher_token_cannot_upload_to_another_project_or_create_one(
    exchange,
    critical_widget,
    make_project,
    alice,
):
    make_project("gadget", owners=[alice])
    uploader = Uploader(Client(), alice, trade(exchange, critical_widget))

    other = uploader.upload(dists.wheel("gadget", "1.0").form())
    new = uploader.upload(dists.wheel("brand-new", "1.0").form())

    assert other.status_code == 403
    assert "scoped to project 'widget'" in other.reason_phrase
    assert new.status_code == 403
    assert not File.objects.exists()


def test_removing_the_publisher_ends_its_live_tokens(exchange, critical_widget, alice):
    uploader = Uploader(Client(), alice, trade(exchange, critical_widget))

    services.remove_publisher(
        actor=authz.Actor.operator(), publisher=critical_widget.publishers.get()
    )
    response = uploader.upload(dists.wheel("widget", "1.0").form())

    assert response.status_code == 403
    assert not File.objects.exists()


def test_quarantined_project_refuses_its_publisher(exchange, critical_widget, alice):
    uploader = Uploader(Client(), alice, trade(exchange, critical_widget))
    critical_widget.status = "quarantined"
    critical_widget.save()

    response = uploader.upload(dists.wheel("widget", "1.0").form())

    assert response.status_code == 403
    assert "quarantined" in response.reason_phrase


# -- another account registering the same CI job --------------------------------------------------


def test_another_accounts_publisher_for_the_same_job_does_not_take_the_token_away(
    exchange, make_project, make_user, alice
):
    """Mallory registers alice's workflow for her own project, pinned to the environment
    alice's job runs in, so her publisher is the one the token is minted for: alice's upload
    still goes through, as alice's publisher and recorded under alice."""
    mallory = make_user("mallory")
    widget = make_project("widget", owners=[alice])
    squat = make_project("squat", owners=[mallory])
    own = publish_from_octo_widget(widget)
    publish_from_octo_widget(squat, environment="pypi")
    minted = exchange.mint(github_claims(environment="pypi"))
    assert minted.status_code == 200, minted.content
    uploader = Uploader(Client(), alice, minted.json()["token"])

    response = uploader.upload(dists.wheel("widget", "1.0").form())

    assert response.status_code == 200, response.reason_phrase
    uploaded = File.objects.get()
    assert uploaded.release.project == widget
    assert uploaded.release.uploader == alice
    event = SecurityEvent.objects.get(tag="file:upload")
    assert (event.user, event.additional["publisher_id"]) == (alice, own.pk)
    assert event.additional["claims"]["repository"] == "octo/widget"


def test_a_token_shared_by_two_projects_still_uploads_nowhere_else(
    exchange, make_project, make_user, alice
):
    mallory = make_user("mallory")
    widget = make_project("widget", owners=[alice])
    squat = make_project("squat", owners=[mallory])
    make_project("gadget", owners=[alice])
    own = publish_from_octo_widget(widget)
    publish_from_octo_widget(squat, environment="pypi")
    uploader = Uploader(
        Client(), alice, exchange.mint(github_claims(environment="pypi")).json()["token"]
    )

    services.remove_publisher(actor=authz.Actor.operator(), publisher=own)
    removed = uploader.upload(dists.wheel("widget", "1.0").form())
    other = uploader.upload(dists.wheel("gadget", "1.0").form())
    new = uploader.upload(dists.wheel("brand-new", "1.0").form())

    assert removed.status_code == 403
    assert "scoped to project 'squat'" in removed.reason_phrase
    assert other.status_code == 403
    assert new.status_code == 403
    assert not File.objects.exists()


# -- the mandate and who added the publisher --------------------------------------------------


def test_a_publisher_added_without_a_second_factor_is_refused_once_the_mandate_is_enforced(
    exchange, make_project, designate, alice
):
    """Red-team finding: during the grace period an owner without 2FA (or whoever has only
    their password) adds a publisher; after enforcement it kept publishing, no second factor
    ever involved. It is warned about until then and refused after."""
    widget = make_project("widget", owners=[alice])
    designation = designate("widget", enforced=False)
    publisher = publish_from_octo_widget(widget, actor=authz.Actor(alice))
    assert publisher.added_with_second_factor is False
    uploader = Uploader(Client(), alice, exchange.mint(github_claims()).json()["token"])

    during_grace = uploader.upload(dists.wheel("widget", "1.0").form())
    designation.enforcement_date = designation.enforcement_date.replace(year=2000)
    designation.save()
    enforced = uploader.upload(dists.wheel("widget", "1.1").form())

    assert during_grace.status_code == 200, during_grace.reason_phrase
    assert "this one was not" in during_grace.content.decode()
    assert enforced.status_code == 403
    assert "must have been added by a maintainer using two-factor" in enforced.reason_phrase
    assert "/manage/project/widget/publishing/" in enforced.content.decode()
    assert File.objects.count() == 1


def test_a_publisher_an_owner_with_a_second_factor_added_publishes_to_an_enforced_project(
    exchange, make_project, designate, enrol_totp, alice, make_user
):
    bob = make_user("bob")
    enrol_totp(bob)
    widget = make_project("widget", owners=[alice, bob])
    designate("widget", enforced=True)
    publisher = publish_from_octo_widget(widget, actor=authz.Actor(bob))
    uploader = Uploader(Client(), alice, exchange.mint(github_claims()).json()["token"])

    response = uploader.upload(dists.wheel("widget", "1.0").form())

    assert publisher.added_with_second_factor is True
    assert response.status_code == 200, response.reason_phrase


def test_removing_the_publisher_a_shared_token_was_minted_for_hands_it_to_another(
    exchange, make_project, make_user, alice
):
    """Review finding: mallory's pinned publisher was the one alice's job's token was minted
    for; mallory, seeing the trade in her project's history, removed it, and the token (deleted
    with it) no longer uploaded to alice's project."""
    mallory = make_user("mallory")
    widget = make_project("widget", owners=[alice])
    squat = make_project("squat", owners=[mallory])
    own = publish_from_octo_widget(widget)
    hers = publish_from_octo_widget(squat, environment="pypi")
    minted = exchange.mint(github_claims(environment="pypi"))
    uploader = Uploader(Client(), alice, minted.json()["token"])

    services.remove_publisher(actor=authz.Actor(mallory), publisher=hers)
    response = uploader.upload(dists.wheel("widget", "1.0").form())
    elsewhere = uploader.upload(dists.wheel("squat", "1.0").form())

    assert response.status_code == 200, response.reason_phrase
    event = SecurityEvent.objects.get(tag="file:upload")
    assert (event.user, event.additional["publisher_id"]) == (alice, own.pk)
    assert elsewhere.status_code == 403  # what it no longer serves
