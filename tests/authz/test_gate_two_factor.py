"""The gate's rules from mfa: a project's 2FA opt-in, the freeze after a recovery, and the
admin's second factor."""

from datetime import timedelta

import pytest
from django.utils import timezone

from bastion import authz
from bastion.mfa.models import RecoveryRequest, RecoveryStatus
from bastion.packaging.models import Project, Role, RoleName

A = authz.Action


@pytest.fixture
def opt_in(alice):
    project = Project.objects.create(
        name="Requests", normalized_name="requests", requires_two_factor=True
    )
    Role.objects.create(user=alice, project=project, role_name=RoleName.OWNER)
    return project


@pytest.mark.parametrize(
    "action", [A.UPLOAD, A.YANK, A.DELETE, A.MANAGE_ROLES, A.SETTINGS, A.CREATE_TOKEN]
)
def test_an_owner_without_2fa_is_refused_every_change_on_an_opt_in_project(
    alice, actor_for, opt_in, action, settings
):
    settings.BASE_URL = "https://index.example"
    decision = authz.may(actor_for(alice), action, opt_in)
    assert decision.code == authz.Code.PROJECT_REQUIRES_TWO_FACTOR
    assert "https://index.example/manage/account/two-factor/" in decision.reason
    assert decision.fix_url == "https://index.example/manage/account/two-factor/"


def test_with_2fa_the_same_owner_may(alice, actor_for, opt_in, enrol_totp):
    enrol_totp(alice)
    assert authz.may(actor_for(alice), A.UPLOAD, opt_in).allowed
    assert authz.may(actor_for(alice), A.SETTINGS, opt_in).allowed


def test_a_token_of_a_maintainer_without_2fa_cannot_upload(alice, actor_for, opt_in):
    from bastion.tokens.models import APIToken

    token = APIToken(user=alice, name="ci", project=opt_in, digest="x" * 64)
    decision = authz.may(actor_for(alice, token), A.UPLOAD, opt_in)
    assert decision.code == authz.Code.PROJECT_REQUIRES_TWO_FACTOR


def test_an_invitee_without_2fa_cannot_accept_a_role(make_user, actor_for, opt_in):
    bob = make_user("bob")
    decision = authz.may(actor_for(bob), A.ACCEPT_ROLE, opt_in)
    assert decision.code == authz.Code.PROJECT_REQUIRES_TWO_FACTOR


def test_projects_without_the_opt_in_are_untouched(alice, actor_for):
    project = Project.objects.create(name="plain", normalized_name="plain")
    Role.objects.create(user=alice, project=project, role_name=RoleName.OWNER)
    assert authz.may(actor_for(alice), A.UPLOAD, project).allowed


def test_a_recovered_account_is_frozen_until_the_cooling_off_ends(alice, actor_for):
    project = Project.objects.create(name="plain", normalized_name="plain")
    Role.objects.create(user=alice, project=project, role_name=RoleName.OWNER)
    frozen = RecoveryRequest.objects.create(
        user=alice,
        identifier="alice",
        details="lost phone",
        status=RecoveryStatus.RESET,
        publishing_frozen_until=timezone.now() + timedelta(hours=72),
    )
    for action in (A.UPLOAD, A.CREATE_TOKEN, A.MANAGE_ROLES):
        decision = authz.may(actor_for(alice), action, project)
        assert decision.code == authz.Code.RECOVERY_FREEZE
        assert f"{frozen.publishing_frozen_until:%Y-%m-%d %H:%M} UTC" in decision.reason
    RecoveryRequest.objects.filter(pk=frozen.pk).update(
        publishing_frozen_until=timezone.now() - timedelta(seconds=1)
    )
    assert authz.may(actor_for(alice), A.UPLOAD, project).allowed


def test_accepting_an_invitation_to_an_opt_in_project_needs_2fa(
    alice, make_user, actor_for, opt_in, enrol_totp
):
    from datetime import timedelta

    from bastion.authz import Code, Refused, management
    from bastion.packaging.models import RoleInvitation
    from tests.factories import ORIGIN

    bob = make_user("bob")
    invitation = RoleInvitation.objects.create(
        project=opt_in,
        invitee=bob,
        invited_by=alice,
        role_name=RoleName.MAINTAINER,
        expires=timezone.now() + timedelta(days=7),
    )
    with pytest.raises(Refused) as refused:
        management.accept_invitation(actor=actor_for(bob), invitation=invitation, origin=ORIGIN)
    assert refused.value.code == Code.PROJECT_REQUIRES_TWO_FACTOR
    assert not Role.objects.filter(user=bob, project=opt_in).exists()
    enrol_totp(bob)
    management.accept_invitation(actor=actor_for(bob), invitation=invitation, origin=ORIGIN)
    assert Role.objects.filter(user=bob, project=opt_in).exists()


def test_the_admin_is_for_staff_with_a_second_factor(make_user, actor_for, enrol_totp):
    refused = authz.may(actor_for(make_user("alice")), A.USE_ADMIN)
    assert not refused.allowed and "'alice' is not an administrator" in refused.reason
    root = make_user("root", admin=True)
    bare = authz.may(actor_for(root), A.USE_ADMIN)
    assert not bare.allowed and "needs a second factor" in bare.reason
    assert bare.fix_url == "/manage/account/two-factor/"
    new_name = Project(name="fresh", normalized_name="fresh")
    assert authz.may(actor_for(root), A.CREATE_PROJECT, new_name).allowed  # only the admin
    enrol_totp(root)
    assert authz.may(actor_for(root), A.USE_ADMIN).allowed
    root.emails.update(verified=False)  # the gate's other rules apply as to any change
    unverified = authz.may(actor_for(root), A.USE_ADMIN)
    assert not unverified.allowed and unverified.fix_url == "/manage/account/"


def test_with_webauthn_required_the_admin_needs_a_key_or_passkey(
    make_user, actor_for, enrol_totp, enrol_key, settings
):
    settings.ADMIN_REQUIRE_WEBAUTHN = True
    root = make_user("root", admin=True)
    enrol_totp(root)
    totp_only = authz.may(actor_for(root), A.USE_ADMIN)
    assert not totp_only.allowed and "security key or a passkey" in totp_only.reason
    enrol_key(root, "laptop", passkey=True)
    assert authz.may(actor_for(root), A.USE_ADMIN).allowed


def test_the_facts_are_read_in_one_statement_with_the_latest_freeze(
    alice, make_user, django_assert_num_queries
):
    """The gate's facts: the verified address, the latest running freeze (an ended one and
    another account's do not count) and the role on this project only."""
    project = Project.objects.create(name="plain", normalized_name="plain")
    other = Project.objects.create(name="other", normalized_name="other")
    Role.objects.create(user=alice, project=other, role_name=RoleName.OWNER)
    later = timezone.now() + timedelta(hours=72)
    for user, until in (
        (alice, timezone.now() - timedelta(hours=1)),
        (alice, later),
        (alice, timezone.now() + timedelta(hours=1)),
        (make_user("bob"), later + timedelta(days=1)),
    ):
        RecoveryRequest.objects.create(
            user=user,
            identifier=user.username,
            status=RecoveryStatus.RESET,
            publishing_frozen_until=until,
        )
    with django_assert_num_queries(1):
        facts = authz._read_facts(alice, project)
    assert facts == authz._AccountFacts(verified_email=True, frozen_until=later, role=None)
    assert authz._read_facts(alice, other).role == RoleName.OWNER
    assert not authz._read_facts(make_user("carol", verified=False), None).verified_email
