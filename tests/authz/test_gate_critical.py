"""The gate's critical-project mandate: who is refused what on a critical project, and when."""

import pytest

from bastion import authz
from bastion.authz import Action
from bastion.packaging.models import Project

PROJECT_ACTIONS = [Action.UPLOAD, Action.YANK, Action.DELETE, Action.MANAGE_ROLES, Action.SETTINGS]


def test_reading_the_history_needs_no_2fa_but_changing_the_settings_does(
    alice, bob, requests_project, designate, actor_for
):
    """An owner who has not enrolled yet still reads what happened to their critical project;
    a maintainer reads it no more than before (only owners do, as on PyPI)."""
    designate("requests")
    assert authz.may(actor_for(alice), Action.READ_HISTORY, requests_project).allowed
    settings = authz.may(actor_for(alice), Action.SETTINGS, requests_project)
    assert settings.code == authz.Code.TWO_FACTOR_REQUIRED
    history = authz.may(actor_for(bob), Action.READ_HISTORY, requests_project)
    assert history.code == authz.Code.ROLE_REQUIRED


@pytest.fixture
def bob(make_user):
    return make_user("bob")


@pytest.fixture
def requests_project(make_project, alice, bob):
    return make_project("requests", owners=[alice], maintainers=[bob])


@pytest.mark.parametrize("action", PROJECT_ACTIONS)
def test_owner_without_2fa_is_refused_every_project_change_after_enforcement(
    alice, requests_project, designate, actor_for, action
):
    designate("requests")
    decision = authz.may(actor_for(alice), action, requests_project)
    assert decision.code == authz.Code.TWO_FACTOR_REQUIRED
    assert "'requests' is critical" in decision.reason  # the project is named
    assert decision.fix_url.endswith("/manage/account/two-factor/")
    assert decision.fix_url in decision.reason


def test_maintainer_token_upload_is_refused_too(bob, requests_project, designate, actor_for):
    from bastion.tokens.models import APIToken

    designate("requests")
    token = APIToken.objects.create(user=bob, name="ci", digest="x" * 64, display_prefix="b")
    assert not authz.may(actor_for(bob, token), Action.UPLOAD, requests_project).allowed


@pytest.mark.parametrize("action", PROJECT_ACTIONS)
def test_during_grace_the_action_is_allowed_with_a_warning(
    alice, requests_project, designate, actor_for, action
):
    designation = designate("requests", enforced=False)
    decision = authz.may(actor_for(alice), action, requests_project)
    assert decision.allowed
    assert "'requests' is critical" in decision.warning
    assert designation.enforcement_date.isoformat() in decision.warning


@pytest.mark.parametrize("action", PROJECT_ACTIONS)
def test_with_totp_everything_works_without_warnings(
    alice, requests_project, designate, enrol_totp, actor_for, action
):
    designate("requests")
    enrol_totp(alice)
    decision = authz.may(actor_for(alice), action, requests_project)
    assert decision.allowed and decision.warning == ""


def test_a_project_that_is_not_critical_is_untouched(make_project, alice, actor_for):
    project = make_project("leftpad", owners=[alice])
    assert authz.may(actor_for(alice), Action.UPLOAD, project) == authz.ALLOW


def test_no_token_of_any_scope_while_maintaining_a_critical_project_without_2fa(
    make_project, bob, requests_project, designate, enrol_totp, actor_for
):
    other = make_project("leftpad", owners=[bob])
    designate("requests")
    for scope in (None, requests_project, other):
        decision = authz.may(actor_for(bob), Action.CREATE_TOKEN, scope)
        assert decision.code == authz.Code.TWO_FACTOR_REQUIRED, scope
    enrol_totp(bob)
    assert authz.may(actor_for(bob), Action.CREATE_TOKEN, None).allowed


def test_token_creation_warns_during_grace(bob, requests_project, designate, actor_for):
    designate("requests", enforced=False)
    decision = authz.may(actor_for(bob), Action.CREATE_TOKEN, None)
    assert decision.allowed and "'requests' is critical" in decision.warning


def test_an_invitee_without_2fa_cannot_accept_a_role_even_during_grace(
    make_user, requests_project, designate, enrol_totp, actor_for
):
    carol = make_user("carol")
    designation = designate("requests", enforced=False)
    decision = authz.may(actor_for(carol), Action.ACCEPT_ROLE, requests_project)
    assert decision.code == authz.Code.TWO_FACTOR_REQUIRED
    # The enforcement date is still ahead: the reason must not say "since" it.
    when = designation.enforcement_date.isoformat()
    assert f"since {when}" not in decision.reason
    assert "joining it needs two-factor authentication now" in decision.reason
    enrol_totp(carol)
    assert authz.may(actor_for(carol), Action.ACCEPT_ROLE, requests_project).allowed


def test_creating_a_project_under_a_critical_name_needs_2fa(
    alice, designate, enrol_totp, actor_for
):
    designate("numpy", enforced=False)  # critical by downloads elsewhere, not hosted here
    new = Project(name="NumPy", normalized_name="numpy")
    decision = authz.may(actor_for(alice), Action.CREATE_PROJECT, new)
    assert decision.code == authz.Code.TWO_FACTOR_REQUIRED
    enrol_totp(alice)
    assert authz.may(actor_for(alice), Action.CREATE_PROJECT, new).allowed


def test_a_deleted_critical_name_is_reserved_for_its_former_maintainers(
    alice, bob, make_user, designate, enrol_totp, actor_for
):
    designation = designate("atomicwrites")
    designation.stewards.add(alice)
    mallory = make_user("mallory")
    for user in (alice, mallory):
        enrol_totp(user)
    new = Project(name="atomicwrites", normalized_name="atomicwrites")
    refused = authz.may(actor_for(mallory), Action.CREATE_PROJECT, new)
    assert refused.code == authz.Code.CRITICAL_NAME_RESERVED
    assert authz.may(actor_for(alice), Action.CREATE_PROJECT, new).allowed


def test_a_removed_designation_no_longer_binds(alice, requests_project, designate, actor_for):
    from django.utils import timezone

    designation = designate("requests")
    designation.removed_at = timezone.now()
    designation.save()
    assert authz.may(actor_for(alice), Action.UPLOAD, requests_project).allowed


def test_the_switch_requires_2fa_of_everyone(
    monkeypatch, make_project, alice, enrol_totp, actor_for
):
    project = make_project("leftpad", owners=[alice])
    monkeypatch.setenv("BASTION_REQUIRE_2FA_FOR_ALL", "1")
    for action, target in [(Action.UPLOAD, project), (Action.CREATE_TOKEN, None)]:
        decision = authz.may(actor_for(alice), action, target)
        assert decision.code == authz.Code.TWO_FACTOR_REQUIRED
    enrol_totp(alice)
    assert authz.may(actor_for(alice), Action.UPLOAD, project).allowed


def test_the_last_factor_cannot_be_removed_while_maintaining_a_critical_project(
    bob, requests_project, designate, enrol_totp, actor_for
):
    from bastion.authz.factors import remove_totp
    from bastion.events.services import CLI

    enrol_totp(bob)
    designate("requests", enforced=False)
    with pytest.raises(authz.Refused) as refused:
        remove_totp(bob, origin=CLI)
    assert refused.value.code == authz.Code.LAST_FACTOR
    assert authz.may(actor_for(bob), Action.UPLOAD, requests_project) == authz.ALLOW


def test_the_designation_is_read_with_the_facts_and_only_while_active(
    alice, requests_project, designate
):
    """The mandate's input comes from the facts' one statement: the active designation of the
    name (saved or about to be created) with its enforcement date, and nothing once removed."""
    from django.utils import timezone

    designation = designate("requests", enforced=False)
    facts = authz._read_facts(alice, requests_project)
    assert facts.designation.pk == designation.pk
    assert facts.designation.enforcement_date == designation.enforcement_date
    unsaved = Project(name="Requests", normalized_name="requests")
    assert authz._read_facts(alice, unsaved).designation.pk == designation.pk
    assert authz._read_facts(alice, None).designation is None
    type(designation).objects.filter(pk=designation.pk).update(removed_at=timezone.now())
    assert authz._read_facts(alice, requests_project).designation is None


def test_refusals_a_person_can_act_on_carry_a_fix_link(make_project, make_user, actor_for):
    from bastion.authz import TOKENS_PATH, keep_an_owner
    from bastion.packaging.models import Role
    from bastion.tokens.services import issue

    alice = make_user("alice2")
    gadget, widget = make_project("gadget", owners=[alice]), make_project("widget2", owners=[alice])
    token = issue(user=alice, name="ci", project=gadget, expires=None).token

    scope = authz.may(authz.Actor(user=alice, token=token), Action.UPLOAD, widget)
    last_owner = keep_an_owner(Role.objects.get(project=widget, user=alice), owners=1)

    assert (scope.code, scope.fix_url) == (authz.Code.TOKEN_SCOPE, TOKENS_PATH)
    assert last_owner.fix_url == "/manage/project/widget2/roles/"
