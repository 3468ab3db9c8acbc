"""Owners hear of every change to who may publish their project, and everyone with a role hears
of yanks and deletions, so a takeover through one account is seen by the others (issue 11, #14).

Each mail goes through the task queue (nothing is sent before the queued tasks run), reaches
only verified addresses, and the change's security event names who was told.
"""

from datetime import timedelta

import pytest
from django.contrib.admin.sites import site
from django.forms import modelform_factory
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from bastion import authz
from bastion.accounts.models import Email
from bastion.authz import management
from bastion.authz.management import set_yanked
from bastion.events.models import SecurityEvent
from bastion.events.services import CLI
from bastion.packaging.models import Project, Release, Role, RoleInvitation, RoleName
from bastion.tokens.services import create_token

pytestmark = pytest.mark.django_db


def mails(outbox) -> dict[str, list]:
    """The delivered messages by recipient address."""
    found: dict[str, list] = {}
    for message in outbox:
        for address in message.to:
            found.setdefault(address, []).append(message)
    return found


def event(tag: str) -> SecurityEvent:
    return SecurityEvent.objects.filter(tag=tag).latest("pk")


@pytest.fixture
def owner(world):
    return authz.Actor(world.owner)


def test_owners_and_the_new_collaborator_hear_when_an_invitation_is_accepted(world, mail_queue):
    invitation = RoleInvitation.objects.create(
        project=world.project,
        invitee=world.stranger,
        invited_by=world.owner,
        role_name=RoleName.MAINTAINER,
        expires=timezone.now() + timedelta(days=7),
    )
    with mail_queue.committed():
        management.accept_invitation(
            actor=authz.Actor(world.stranger), invitation=invitation, origin=CLI
        )
    assert mail_queue.tasks().count("deliver_mail") == 2  # one to the owners, one to sam
    sent = mails(mail_queue.deliver())
    assert set(sent) == {"olivia@example.com", "sam@example.com"}  # not mario, a maintainer
    [to_owner] = sent["olivia@example.com"]
    assert to_owner.subject == "[Bastion] Widget: sam added as Maintainer"
    assert "sam was added as a maintainer of Widget" in to_owner.body
    assert "Invited by: olivia" in to_owner.body
    assert "because you are an owner of Widget" in to_owner.body
    [to_sam] = sent["sam@example.com"]
    assert "You were added as a maintainer of Widget" in to_sam.body
    assert event("role:add").additional["notified"] == ["olivia", "sam"]


def test_owners_and_the_removed_collaborator_hear_of_a_removal(world, owner, mail_queue):
    role = Role.objects.get(user=world.maintainer)
    with mail_queue.committed():
        management.remove_role(actor=owner, role=role, origin=CLI)
    sent = mails(mail_queue.deliver())
    assert set(sent) == {"olivia@example.com", "mario@example.com"}
    [to_owner] = sent["olivia@example.com"]
    assert "Widget" in to_owner.subject and "mario removed" in to_owner.subject
    assert "mario was removed as a maintainer of Widget" in to_owner.body
    assert "By: olivia" in to_owner.body  # the actor is told too: it may not have been them
    [to_mario] = sent["mario@example.com"]
    assert "You were removed as a maintainer of Widget" in to_mario.body
    assert event("role:remove").additional["notified"] == ["mario", "olivia"]


def test_owners_and_the_collaborator_hear_of_a_role_change(world, owner, mail_queue):
    role = Role.objects.get(user=world.maintainer)
    with mail_queue.committed():
        management.change_role(actor=owner, role=role, role_name=RoleName.OWNER, origin=CLI)
    sent = mails(mail_queue.deliver())
    [to_owner] = sent["olivia@example.com"]
    assert to_owner.subject == "[Bastion] Widget: mario is now Owner"
    assert "changed from Maintainer to Owner" in to_owner.body
    [to_mario] = sent["mario@example.com"]  # one mail, their own, though now an owner
    assert "Your role on Widget changed from Maintainer to Owner" in to_mario.body
    assert event("role:change").additional["notified"] == ["mario", "olivia"]


def test_owners_hear_when_a_maintainer_makes_a_token_for_the_project(world, mail_queue):
    with mail_queue.committed():
        create_token(actor=authz.Actor(world.maintainer), name="ci", project=world.project)
    sent = mails(mail_queue.deliver())
    [to_owner] = sent["olivia@example.com"]
    assert to_owner.subject == "[Bastion] Widget: API token created"
    assert "mario created an API token that can upload to Widget" in to_owner.body
    assert "Token: ci" in to_owner.body and "bastion-" not in to_owner.body
    assert [m.subject for m in sent["mario@example.com"]] == [
        "[Bastion] An API token was created on your account"  # the creator's own mail
    ]
    assert event("token:create").additional["notified"] == ["olivia"]


def test_a_token_for_all_of_an_accounts_projects_tells_no_project(world, mail_queue):
    with mail_queue.committed():
        create_token(actor=authz.Actor(world.owner), name="laptop")
    assert [m.to for m in mail_queue.deliver()] == [["olivia@example.com"]]
    assert event("token:create").additional["notified"] == []


@pytest.mark.parametrize("yanked", [True, False])
def test_everyone_with_a_role_hears_of_a_yank(world, owner, mail_queue, yanked):
    with mail_queue.committed():
        set_yanked(
            actor=owner,
            project=world.project,
            version="2.0",
            yanked=yanked,
            reason="broken wheel" if yanked else "",
        )
    sent = mails(mail_queue.deliver())
    assert set(sent) == {"olivia@example.com", "mario@example.com"}
    change = "yanked" if yanked else "unyanked"
    [to_owner] = sent["olivia@example.com"]
    assert to_owner.subject == f"[Bastion] Widget: release 2.0 {change}"
    assert f"Release 2.0 of Widget was {change}" in to_owner.body
    assert ("Reason: broken wheel" in to_owner.body) == yanked
    assert "because you are a maintainer of Widget" in sent["mario@example.com"][0].body
    tag = "release:yank" if yanked else "release:unyank"
    assert event(tag).additional["notified"] == ["mario", "olivia"]


def test_a_yank_at_the_command_line_tells_them_too(world, mail_queue):
    with mail_queue.committed():
        set_yanked(
            actor=authz.Actor.operator(), project=world.project, version="1.0", yanked=True,
            reason="cve",
        )  # fmt: skip
    [to_owner] = mails(mail_queue.deliver())["olivia@example.com"]
    assert "By: an operator at the command line" in to_owner.body


def test_everyone_with_a_role_hears_of_a_deleted_release(world, owner, mail_queue):
    with mail_queue.committed():
        management.delete_release(
            actor=owner, project=world.project, version="1.0", confirm="1.0",
            reason="broken", origin=CLI,
        )  # fmt: skip
    sent = mails(mail_queue.deliver())
    [to_mario] = sent["mario@example.com"]
    assert to_mario.subject == "[Bastion] Widget: release 1.0 deleted"
    assert "Files: widget-1.0.tar.gz" in to_mario.body and "Reason: broken" in to_mario.body
    assert event("release:remove").additional["notified"] == ["mario", "olivia"]


def test_everyone_with_a_role_hears_of_a_deleted_file(world, owner, mail_queue):
    with mail_queue.committed():
        management.delete_file(
            actor=owner, project=world.project, filename="widget-2.0.tar.gz",
            confirm="widget-2.0.tar.gz", reason="wrong build", origin=CLI,
        )  # fmt: skip
    sent = mails(mail_queue.deliver())
    [to_owner] = sent["olivia@example.com"]
    assert to_owner.subject == "[Bastion] Widget: 1 file(s) of 2.0 deleted"
    assert "Files: widget-2.0.tar.gz" in to_owner.body
    assert set(sent) == {"olivia@example.com", "mario@example.com"}
    assert event("file:remove").additional["notified"] == ["mario", "olivia"]


def test_everyone_who_had_a_role_hears_that_the_project_was_deleted(world, owner, mail_queue):
    with mail_queue.committed():
        management.delete_project(
            actor=owner, project=world.project, confirm="Widget", reason="abandoned", origin=CLI
        )
    assert not Project.objects.exists()
    sent = mails(mail_queue.deliver())
    assert set(sent) == {"olivia@example.com", "mario@example.com"}
    [to_mario] = sent["mario@example.com"]
    assert to_mario.subject == "[Bastion] Widget: project deleted"
    assert "Releases: 1.0, 2.0" in to_mario.body and "Reason: abandoned" in to_mario.body
    assert "/history/" not in to_mario.body  # the history page went with the project
    assert event("project:remove").additional["notified"] == ["mario", "olivia"]


def test_only_verified_addresses_of_active_accounts_get_mail(world, owner, make_user, mail_queue):
    Email.objects.create(user=world.owner, email="olivia@work.example", verified=True)
    Email.objects.create(user=world.owner, email="olivia@old.example", verified=False)
    for name, verified, active in [("uma", False, True), ("gone", True, False)]:
        user = make_user(name, verified=verified)
        user.is_active = active
        user.save()
        Role.objects.create(project=world.project, user=user, role_name=RoleName.OWNER)
    with mail_queue.committed():
        set_yanked(actor=owner, project=world.project, version="2.0", yanked=True)
    sent = mails(mail_queue.deliver())
    assert set(sent) == {"olivia@example.com", "olivia@work.example", "mario@example.com"}
    assert event("release:yank").additional["notified"] == ["mario", "olivia"]


def test_a_refused_change_tells_nobody(world, mail_queue):
    role = Role.objects.get(user=world.owner)
    with pytest.raises(Exception, match="last owner"), mail_queue.committed():
        management.remove_role(actor=authz.Actor(world.owner), role=role, origin=CLI)
    assert "deliver_mail" not in mail_queue.tasks()


# ---------------------------------------------------------------------------------------------
# The admin's edits notify like an owner's.


def admin_request(admin_user):
    request = RequestFactory().post("/admin/")
    request.user = admin_user
    return request


def save_roles_inline(world, admin_user, rows: list[dict]) -> None:
    """Post the project's role rows through the admin's own inline formset, as the page does."""
    model_admin = site._registry[Project]
    request = admin_request(admin_user)
    inline = next(i for i in model_admin.get_inline_instances(request) if i.model is Role)
    FormSet = inline.get_formset(request, world.project)
    prefix = FormSet.get_default_prefix()
    data = {
        f"{prefix}-TOTAL_FORMS": str(len(rows)),
        f"{prefix}-INITIAL_FORMS": str(sum(1 for row in rows if "id" in row)),
    }
    for index, row in enumerate(rows):
        data |= {f"{prefix}-{index}-{field}": value for field, value in row.items()}
    formset = FormSet(data, instance=world.project, prefix=prefix)
    assert formset.is_valid(), formset.errors
    form = modelform_factory(Project, fields=["name"])(instance=world.project)
    model_admin.save_formset(request, form, formset, change=True)


def notified_by_admin(admin_user) -> list[str]:
    """Everyone the admin's role changes told: they are the owners' role events, by the admin."""
    role_events = SecurityEvent.objects.filter(tag__startswith="role:", user=admin_user)
    return sorted({name for e in role_events for name in e.additional["notified"]})


def role_rows(world, **edits) -> list[dict]:
    """The current role rows, with ``edits`` (by username) applied to them."""
    rows = []
    for role in Role.objects.filter(project=world.project).order_by("pk"):
        row = {"id": str(role.pk), "user": str(role.user_id), "role_name": role.role_name}
        rows.append(row | edits.get(role.user.username, {}))
    return rows


@pytest.mark.parametrize(
    "edit, owners_read, mario_reads",
    [
        ({"DELETE": "on"}, "mario was removed as a maintainer", "You were removed"),
        ({"role_name": "Owner"}, "from Maintainer to Owner", "Your role on Widget changed"),
    ],
)
def test_roles_edited_inline_in_the_admin_tell_the_owners_and_the_person(
    world, make_user, mail_queue, edit, owners_read, mario_reads
):
    root = make_user("root", admin=True)
    with mail_queue.committed():
        save_roles_inline(world, root, role_rows(world, mario=edit))
    sent = mails(mail_queue.deliver())
    [to_owner] = sent["olivia@example.com"]
    assert owners_read in to_owner.body and "By: root" in to_owner.body
    assert mario_reads in sent["mario@example.com"][0].body
    assert notified_by_admin(root) == ["mario", "olivia"]


def test_a_role_added_or_handed_to_another_account_in_the_admin_tells_everyone_concerned(
    world, make_user, mail_queue
):
    eve = make_user("eve")
    rows = role_rows(world, mario={"user": str(eve.pk)})  # mario's row now names eve
    rows.append({"user": str(world.stranger.pk), "role_name": "Owner"})
    root = make_user("root", admin=True)
    with mail_queue.committed():
        save_roles_inline(world, root, rows)
    sent = mails(mail_queue.deliver())
    assert "You were removed as a maintainer" in sent["mario@example.com"][0].body
    assert "You were added as a maintainer" in sent["eve@example.com"][0].body
    assert "You were added as an owner" in sent["sam@example.com"][0].body
    owner_mails = " ".join(m.body for m in sent["olivia@example.com"])
    assert "eve was added" in owner_mails and "mario was removed" in owner_mails
    assert "sam was added as an owner" in owner_mails
    assert notified_by_admin(root) == ["eve", "mario", "olivia", "sam"]


def test_a_yank_in_the_admin_tells_everyone_with_a_role(world, make_user, mail_queue):
    release = Release.objects.get(project=world.project, version="2.0")
    form = modelform_factory(Release, fields=["yanked", "yanked_reason"])(
        data={"yanked": "on", "yanked_reason": "malware"}, instance=release
    )
    assert form.is_valid()
    with mail_queue.committed():
        site._registry[Release].save_model(
            admin_request(make_user("root", admin=True)), form.save(commit=False), form, True
        )
    sent = mails(mail_queue.deliver())
    assert "Reason: malware" in sent["mario@example.com"][0].body
    assert event("admin:change").additional["notified"] == ["mario", "olivia"]


def test_the_project_history_shows_who_was_told(world, owner_client, mail_queue):
    role = Role.objects.get(user=world.maintainer)
    with mail_queue.committed():
        owner_client.post(reverse("remove_role", args=["widget", role.pk]))
    assert len(mail_queue.deliver()) == 2  # the web page notifies through the same service
    page = owner_client.get(reverse("project_history", args=["widget"])).content.decode()
    assert "Told by mail:</span> mario, olivia" in page
