"""The one gate: each rule refuses with a reason a person can act on."""

import pytest

from bastion.authz import Action, Actor, Code, may
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
    assert decision.code == Code.ROLE_REQUIRED
    assert "bob" in decision.reason and "Spam" in decision.reason  # people read who and what


def test_stranger_is_refused_with_project_named(make_user, project):
    decision = may(Actor(make_user("mallory")), Action.UPLOAD, project)
    assert decision.code == Code.ROLE_REQUIRED
    assert "'mallory'" in decision.reason and "'Spam'" in decision.reason


def test_unverified_email_blocks_every_change(make_user, project):
    carol = make_user("carol", verified=False)
    Role.objects.create(user=carol, project=project, role_name=RoleName.OWNER)
    decision = may(Actor(carol), Action.UPLOAD, project)
    assert decision.code == Code.EMAIL_UNVERIFIED


def test_disabled_account_is_refused(alice, project):
    alice.is_active = False
    alice.save()
    assert may(Actor(alice), Action.UPLOAD, project).code == Code.ACCOUNT_DISABLED


def test_scoped_token_cannot_touch_another_project(alice, project):
    other = Project.objects.create(name="Eggs", normalized_name="eggs")
    Role.objects.create(user=alice, project=other, role_name=RoleName.OWNER)
    token = create_token(actor=Actor(alice), name="ci", project=project).token
    assert may(Actor(alice, token), Action.UPLOAD, project).allowed
    decision = may(Actor(alice, token), Action.UPLOAD, other)
    assert decision.code == Code.TOKEN_SCOPE


def test_scoped_token_cannot_create_a_project(alice, project):
    token = create_token(actor=Actor(alice), name="ci", project=project).token
    new = Project(name="Ham", normalized_name="ham")
    decision = may(Actor(alice, token), Action.CREATE_PROJECT, new)
    assert decision.code == Code.TOKEN_SCOPE


def test_user_wide_token_may_create_a_project(alice):
    token = create_token(actor=Actor(alice), name="ci").token
    assert may(Actor(alice, token), Action.CREATE_PROJECT, Project(name="Ham")).allowed


def test_token_cannot_manage_even_its_own_project(alice, project):
    token = create_token(actor=Actor(alice), name="ci", project=project).token
    assert may(Actor(alice, token), Action.YANK, project).code == Code.TOKEN_SCOPE


@pytest.mark.parametrize("status", [ProjectStatus.ARCHIVED, ProjectStatus.QUARANTINED])
def test_archived_and_quarantined_projects_refuse_uploads(alice, project, status):
    project.status = status
    project.save()
    decision = may(Actor(alice), Action.UPLOAD, project)
    assert decision.code == Code.PROJECT_NOT_ACCEPTING_UPLOADS


# -- actors other than a person: administrators in the admin, the operator at the command line


def test_admin_powers_are_granted_to_an_administrator_in_the_admin_only(make_user, project):
    root = make_user("root", admin=True)
    assert may(Actor.admin(root), Action.ADMIN_MANAGE_ROLES, project).allowed
    assert may(Actor.admin(root), Action.APPROVE_CRITICAL_DELETION, project).allowed
    outside = may(Actor(root), Action.ADMIN_MANAGE_ROLES, project)  # a session, not the admin
    assert outside.code == Code.ADMIN_REQUIRED
    staff = make_user("staff")
    staff.is_staff = True  # may sign in to the admin, but holds no administrators' powers
    staff.save()
    assert may(Actor.admin(staff), Action.ADMIN_MANAGE_ROLES, project).code == Code.ADMIN_REQUIRED


def test_an_administrator_in_the_admin_takes_no_owners_action(make_user, project):
    """Admin powers are named; being an admin does not make one an owner of every project."""
    root = make_user("root", admin=True)
    assert may(Actor.admin(root), Action.UPLOAD, project).code == Code.ADMIN_REQUIRED
    assert may(Actor(root), Action.UPLOAD, project).code == Code.ROLE_REQUIRED


def test_a_disabled_administrator_has_no_powers(make_user, project):
    root = make_user("root", admin=True)
    root.is_active = False
    root.save()
    decision = may(Actor.admin(root), Action.ADMIN_MANAGE_ROLES, project)
    assert decision.code == Code.ACCOUNT_DISABLED


def test_the_operator_may_yank_and_nothing_else(project):
    operator = Actor.operator()
    assert may(operator, Action.YANK, project).allowed
    for action in (Action.DELETE, Action.MANAGE_ROLES, Action.UPLOAD, Action.ADMIN_DELETE):
        assert may(operator, action, project).code == Code.NOT_FOR_THE_OPERATOR, action


def test_a_refusal_leaves_a_service_as_one_exception_with_its_code(make_user, project):
    from bastion.authz import Refused, require

    with pytest.raises(Refused) as refused:
        require(Actor(make_user("mallory")), Action.DELETE, project)
    assert refused.value.code == Code.ROLE_REQUIRED and refused.value.status == 403


def test_a_decision_reads_the_accounts_facts_in_one_query(
    alice, project, django_assert_num_queries
):
    """The verified address, the role, a recovery freeze and the name's designation: one query."""
    with django_assert_num_queries(1):
        assert may(Actor(alice), Action.UPLOAD, project).allowed


def test_facts_are_read_again_for_every_decision(alice, project):
    """Nothing is kept from one decision to the next: a role removed in between counts."""
    assert may(Actor(alice), Action.UPLOAD, project).allowed
    Role.objects.filter(user=alice, project=project).delete()
    assert may(Actor(alice), Action.UPLOAD, project).code == Code.ROLE_REQUIRED


def test_an_account_deleted_during_its_request_is_refused(alice, project):
    actor = Actor(alice)
    type(alice).objects.filter(pk=alice.pk).delete()
    assert not may(actor, Action.UPLOAD, project).allowed
