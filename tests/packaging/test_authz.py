"""The one gate: each rule refuses with a reason a person can act on."""

import pytest

from bastion.packaging.authz import Action, Actor, may
from bastion.packaging.models import Project, ProjectStatus, Role, RoleName
from bastion.tokens.services import create_token

pytestmark = pytest.mark.django_db


@pytest.fixture
def project(alice):
    project = Project.objects.create(name="Spam", normalized_name="spam")
    Role.objects.create(user=alice, project=project, role_name=RoleName.OWNER)
    return project


def test_owner_may_upload_yank_and_manage(alice, project):
    for action in (Action.UPLOAD, Action.YANK, Action.DELETE, Action.MANAGE_ROLES, Action.SETTINGS):
        assert may(Actor(alice), action, project).allowed, action


def test_maintainer_may_upload_but_not_manage(make_user, project):
    bob = make_user("bob")
    Role.objects.create(user=bob, project=project, role_name=RoleName.MAINTAINER)
    assert may(Actor(bob), Action.UPLOAD, project).allowed
    decision = may(Actor(bob), Action.MANAGE_ROLES, project)
    assert not decision.allowed
    assert "bob" in decision.reason and "Spam" in decision.reason


def test_stranger_is_refused_with_project_named(make_user, project):
    decision = may(Actor(make_user("mallory")), Action.UPLOAD, project)
    assert not decision.allowed
    assert decision.reason == "The user 'mallory' isn't allowed to upload to project 'Spam'."


def test_unverified_email_blocks_every_change(make_user, project):
    carol = make_user("carol", verified=False)
    Role.objects.create(user=carol, project=project, role_name=RoleName.OWNER)
    decision = may(Actor(carol), Action.UPLOAD, project)
    assert not decision.allowed and "verified primary email" in decision.reason


def test_disabled_account_is_refused(alice, project):
    alice.is_active = False
    alice.save()
    assert "disabled" in may(Actor(alice), Action.UPLOAD, project).reason


def test_scoped_token_cannot_touch_another_project(alice, project):
    other = Project.objects.create(name="Eggs", normalized_name="eggs")
    Role.objects.create(user=alice, project=other, role_name=RoleName.OWNER)
    token = create_token(actor=Actor(alice), name="ci", project=project).token
    assert may(Actor(alice, token), Action.UPLOAD, project).allowed
    decision = may(Actor(alice, token), Action.UPLOAD, other)
    assert not decision.allowed and "scoped to project 'Spam'" in decision.reason


def test_scoped_token_cannot_create_a_project(alice, project):
    token = create_token(actor=Actor(alice), name="ci", project=project).token
    new = Project(name="Ham", normalized_name="ham")
    decision = may(Actor(alice, token), Action.CREATE_PROJECT, new)
    assert "cannot create a new project" in decision.reason


def test_user_wide_token_may_create_a_project(alice):
    token = create_token(actor=Actor(alice), name="ci").token
    assert may(Actor(alice, token), Action.CREATE_PROJECT, Project(name="Ham")).allowed


def test_token_cannot_manage_even_its_own_project(alice, project):
    token = create_token(actor=Actor(alice), name="ci", project=project).token
    assert not may(Actor(alice, token), Action.YANK, project).allowed


@pytest.mark.parametrize("status", [ProjectStatus.ARCHIVED, ProjectStatus.QUARANTINED])
def test_archived_and_quarantined_projects_refuse_uploads(alice, project, status):
    project.status = status
    project.save()
    decision = may(Actor(alice), Action.UPLOAD, project)
    assert not decision.allowed and status in decision.reason
