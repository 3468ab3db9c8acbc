"""Roles: owners invite, invitees accept or decline, invitations expire, the last owner stays."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from bastion.events.models import SecurityEvent
from bastion.packaging.models import Role, RoleInvitation, RoleName

pytestmark = pytest.mark.django_db

ROLES = reverse("manage_roles", args=["widget"])


def invite(client, username="sam", role_name="Maintainer"):
    return client.post(ROLES, {"username": username, "role_name": role_name})


def test_invitation_waits_for_the_invitee(
    world, owner_client, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = invite(owner_client)
    assert response.status_code == 302
    invitation = RoleInvitation.objects.get(invitee=world.stranger)
    assert invitation.role_name == RoleName.MAINTAINER
    assert timedelta(days=6, hours=23) < invitation.expires - timezone.now() <= timedelta(days=7)
    assert not Role.objects.filter(user=world.stranger).exists()
    event = SecurityEvent.objects.get(tag="role:invite")
    assert (event.user, event.project) == (world.owner, world.project)
    assert event.additional == {"invitee": "sam", "role": "Maintainer"}
    assert event.ip_address == "203.0.113.7"
    assert b"sam" in owner_client.get(ROLES).content
    [mail] = mailoutbox
    assert mail.to == ["sam@example.com"]
    assert mail.subject == "[Bastion] olivia invited you to be Maintainer of Widget"
    assert "/manage/projects/" in mail.body


def test_invitee_sees_and_accepts_the_invitation(world, owner_client):
    invite(owner_client, role_name="Owner")
    invitee = world.client_for(world.stranger)
    page = invitee.get(reverse("my_projects")).content.decode()
    assert "Pending invitations" in page and "Widget" in page
    invitation = RoleInvitation.objects.get()
    response = invitee.post(reverse("accept_invitation", args=[invitation.pk]))
    assert response.status_code == 302
    assert Role.objects.get(user=world.stranger, project=world.project).role_name == "Owner"
    assert not RoleInvitation.objects.exists()
    assert SecurityEvent.objects.filter(tag="role:add", user=world.stranger).exists()
    assert invitee.get(reverse("manage_roles", args=["widget"])).status_code == 200


def test_invitee_declines(world, owner_client):
    invite(owner_client)
    invitation = RoleInvitation.objects.get()
    invitee = world.client_for(world.stranger)
    assert invitee.post(reverse("decline_invitation", args=[invitation.pk])).status_code == 302
    assert not Role.objects.filter(user=world.stranger).exists()
    assert not RoleInvitation.objects.exists()
    event = SecurityEvent.objects.get(tag="role:decline_invite")
    assert (event.user, event.project) == (world.stranger, world.project)


def test_someone_else_cannot_answer_an_invitation(world, owner_client):
    invite(owner_client)
    invitation = RoleInvitation.objects.get()
    for user in (world.owner, world.maintainer):
        client = world.client_for(user)
        assert client.post(reverse("accept_invitation", args=[invitation.pk])).status_code == 404
    assert not Role.objects.filter(user=world.stranger).exists()


def test_expired_invitation_cannot_be_accepted_and_is_not_offered(world, owner_client):
    invite(owner_client)
    RoleInvitation.objects.update(expires=timezone.now() - timedelta(seconds=1))
    invitee = world.client_for(world.stranger)
    assert b"Pending invitations" not in invitee.get(reverse("my_projects")).content
    invitation = RoleInvitation.objects.get()
    response = invitee.post(reverse("accept_invitation", args=[invitation.pk]), follow=True)
    assert b"has expired" in response.content
    assert not Role.objects.filter(user=world.stranger).exists()


def test_expired_invitation_can_be_sent_again(world, owner_client):
    invite(owner_client)
    RoleInvitation.objects.update(expires=timezone.now() - timedelta(seconds=1))
    assert invite(owner_client).status_code == 302
    assert RoleInvitation.objects.get().expires > timezone.now()


@pytest.mark.parametrize(
    ("username", "message"),
    [
        ("nobody", b"There is no active user named"),
        ("mario", b"already has a role"),
    ],
)
def test_invitation_errors_sit_beside_the_username_field(world, owner_client, username, message):
    response = invite(owner_client, username=username)
    assert response.status_code == 400
    page = response.content.decode()
    field = page.index('id="id_username"')
    error = page.index(message.decode().replace("'", "&#x27;"))
    assert 0 < error - field < 600
    assert not RoleInvitation.objects.exists()


def test_pending_invitation_is_not_duplicated(world, owner_client):
    invite(owner_client)
    response = invite(owner_client)
    assert response.status_code == 400
    assert b"pending invitation" in response.content
    assert RoleInvitation.objects.count() == 1


def test_owner_withdraws_an_invitation(world, owner_client):
    invite(owner_client)
    invitation = RoleInvitation.objects.get()
    url = reverse("revoke_invitation", args=["widget", invitation.pk])
    assert owner_client.post(url).status_code == 302
    assert not RoleInvitation.objects.exists()
    assert SecurityEvent.objects.filter(tag="role:revoke_invite").exists()


def test_owner_removes_a_maintainer(world, owner_client):
    role = Role.objects.get(user=world.maintainer)
    response = owner_client.post(reverse("remove_role", args=["widget", role.pk]))
    assert response.status_code == 302
    assert not Role.objects.filter(pk=role.pk).exists()
    event = SecurityEvent.objects.get(tag="role:remove")
    assert event.additional == {
        "username": "mario",
        "role": "Maintainer",
        "notified": ["mario", "olivia"],
    }


def test_last_owner_cannot_be_removed(world, owner_client):
    role = Role.objects.get(user=world.owner)
    response = owner_client.post(reverse("remove_role", args=["widget", role.pk]), follow=True)
    assert b"last owner" in response.content
    assert Role.objects.filter(pk=role.pk).exists()
    assert not SecurityEvent.objects.filter(tag="role:remove").exists()


def test_an_owner_can_leave_when_another_owner_remains(world, owner_client):
    Role.objects.filter(user=world.maintainer).update(role_name=RoleName.OWNER)
    role = Role.objects.get(user=world.owner)
    owner_client.post(reverse("remove_role", args=["widget", role.pk]))
    assert not Role.objects.filter(pk=role.pk).exists()
    assert owner_client.get(ROLES).status_code == 403


def test_role_of_another_project_is_404(world, owner_client, make_project):
    other = make_project("Other", owners=[world.stranger])
    role = Role.objects.get(project=other)
    assert owner_client.post(reverse("remove_role", args=["widget", role.pk])).status_code == 404
    assert Role.objects.filter(pk=role.pk).exists()


def test_accepting_goes_through_the_gate(world, owner_client):
    invite(owner_client)
    world.stranger.emails.update(verified=False)
    invitation = RoleInvitation.objects.get()
    response = world.client_for(world.stranger).post(
        reverse("accept_invitation", args=[invitation.pk])
    )
    assert response.status_code == 403
    assert b"verified primary email" in response.content
    assert not Role.objects.filter(user=world.stranger).exists()
    assert RoleInvitation.objects.filter(pk=invitation.pk).exists()


def test_owner_makes_a_maintainer_an_owner_and_back(world, owner_client):
    role = Role.objects.get(user=world.maintainer)
    url = reverse("change_role", args=["widget", role.pk])
    assert owner_client.post(url, {"role_name": "Owner"}).status_code == 302
    role.refresh_from_db()
    assert role.role_name == RoleName.OWNER
    event = SecurityEvent.objects.get(tag="role:change")
    assert event.additional == {
        "username": "mario",
        "role": "Owner",
        "previous_role": "Maintainer",
        "notified": ["mario", "olivia"],
    }
    owner_client.post(url, {"role_name": "Maintainer"})
    role.refresh_from_db()
    assert role.role_name == RoleName.MAINTAINER


def test_last_owner_cannot_step_down(world, owner_client):
    role = Role.objects.get(user=world.owner)
    url = reverse("change_role", args=["widget", role.pk])
    response = owner_client.post(url, {"role_name": "Maintainer"}, follow=True)
    assert b"last owner" in response.content
    role.refresh_from_db()
    assert role.role_name == RoleName.OWNER
    assert not SecurityEvent.objects.filter(tag="role:change").exists()


def test_an_unknown_role_is_refused(world, owner_client):
    role = Role.objects.get(user=world.maintainer)
    url = reverse("change_role", args=["widget", role.pk])
    response = owner_client.post(url, {"role_name": "Emperor"}, follow=True)
    assert b"is not a role" in response.content
    role.refresh_from_db()
    assert role.role_name == RoleName.MAINTAINER
