"""Deleting a critical project's last files needs an admin; its name is never handed on."""

import pytest

from bastion import authz
from bastion.authz import deletions, management
from bastion.authz.creation import create_project
from bastion.critical.models import DeletionRequest, Designation
from bastion.events.services import CLI
from bastion.packaging.models import Project
from tests.factories import add_release

pytestmark = pytest.mark.django_db


@pytest.fixture
def atomicwrites(make_project, alice, enrol_totp, designate, make_user):
    """A critical project with two releases, each with one file, and a project that needs it."""
    enrol_totp(alice)  # 2FA does not exempt anyone from the approval
    project = make_project("atomicwrites", owners=[alice])
    add_release(project, "1.3", "atomicwrites-1.3-py3-none-any.whl")
    add_release(project, "1.4", "atomicwrites-1.4-py3-none-any.whl")
    make_project(
        "pytest", owners=[make_user("ronny")], releases={"7.0": {"requires": ["atomicwrites"]}}
    )
    designate("atomicwrites")
    return project


def delete(actor, project, version):
    return management.delete_release(
        actor=actor, project=project, version=version, confirm=version, reason="gone", origin=CLI
    )


def test_older_releases_can_go_but_the_last_one_waits_for_an_admin(atomicwrites, alice, make_user):
    owner = authz.Actor(alice)
    delete(owner, atomicwrites, "1.3")
    with pytest.raises(authz.Refused) as refused:
        delete(owner, atomicwrites, "1.4")
    assert refused.value.code == authz.Code.CRITICAL_DELETION_NEEDS_APPROVAL
    assert "1 project(s) require it (pytest)" in refused.value.reason  # what would break
    with pytest.raises(authz.Refused):
        delete(owner, atomicwrites, "1.4")
    request = DeletionRequest.objects.get()  # asking twice files one request
    assert request.approved is None and request.requested_by == alice

    with pytest.raises(authz.Refused) as refused:
        deletions.decide(admin=alice, request=request, approve=True)
    assert refused.value.code == authz.Code.ADMIN_REQUIRED
    deletions.decide(admin=make_user("root", admin=True), request=request, approve=True)
    delete(owner, atomicwrites, "1.4")
    assert not atomicwrites.releases.exists()
    assert DeletionRequest.objects.get().used_at is not None
    assert Designation.objects.get(normalized_name="atomicwrites").is_active  # still critical


def test_a_rejected_request_still_refuses(atomicwrites, alice, make_user):
    owner = authz.Actor(alice)
    atomicwrites.releases.get(version="1.3").delete()
    with pytest.raises(authz.Refused):
        delete(owner, atomicwrites, "1.4")
    deletions.decide(
        admin=make_user("root", admin=True), request=DeletionRequest.objects.get(), approve=False
    )
    with pytest.raises(authz.Refused) as refused:
        delete(owner, atomicwrites, "1.4")
    assert refused.value.code == authz.Code.CRITICAL_DELETION_NEEDS_APPROVAL
    assert atomicwrites.releases.filter(version="1.4").exists()


def test_a_project_that_is_not_critical_deletes_freely(make_project, alice):
    project = make_project("leftpad", owners=[alice])
    add_release(project, "1.0", "leftpad-1.0-py3-none-any.whl")
    delete(authz.Actor(alice), project, "1.0")
    assert not project.releases.exists()


def test_delete_and_recreate_keeps_the_label_and_the_name_stays_with_its_maintainers(
    atomicwrites, alice, make_user, enrol_totp
):
    Project.objects.get(pk=atomicwrites.pk).delete()  # e.g. an admin, after approval
    mallory = make_user("mallory")
    enrol_totp(mallory)
    with pytest.raises(authz.Refused) as refused:
        create_project(actor=authz.Actor(mallory), name="atomicwrites")
    assert refused.value.code == authz.Code.CRITICAL_NAME_RESERVED
    again = create_project(actor=authz.Actor(alice), name="AtomicWrites")
    assert again.normalized_name == "atomicwrites"
    assert Designation.objects.get(normalized_name="atomicwrites").is_active


def test_renaming_a_critical_project_keeps_the_label_on_both_names(make_project, alice, designate):
    project = make_project("cheetah3", owners=[alice])
    add_release(project, "3.2", "cheetah3-3.2-py3-none-any.whl")
    original = designate("cheetah3")
    project.name, project.normalized_name = "CT3", "ct3"
    project.save()  # no Bastion path renames today; any future one (or the admin) meets this
    renamed = Designation.objects.get(normalized_name="ct3")
    assert renamed.is_active and renamed.enforcement_date == original.enforcement_date
    assert Designation.objects.get(normalized_name="cheetah3").is_active
    assert not authz.may(authz.Actor(alice), authz.Action.UPLOAD, project).allowed


def delete_project(actor, project):
    return management.delete_project(
        actor=actor, project=project, confirm=project.name, reason="abandoned", origin=CLI
    )


def test_deleting_a_critical_project_waits_for_an_admin_and_keeps_the_label(
    atomicwrites, alice, make_user, enrol_totp
):
    owner = authz.Actor(alice)
    with pytest.raises(authz.Refused) as refused:
        delete_project(owner, atomicwrites)
    assert refused.value.code == authz.Code.CRITICAL_DELETION_NEEDS_APPROVAL
    assert "1 project(s) require it (pytest)" in refused.value.reason
    request = DeletionRequest.objects.get()
    assert request.version == ""  # the whole project
    assert atomicwrites.releases.count() == 2
    deletions.decide(admin=make_user("root", admin=True), request=request, approve=True)
    delete_project(owner, atomicwrites)
    assert not Project.objects.filter(normalized_name="atomicwrites").exists()
    assert Designation.objects.get(normalized_name="atomicwrites").is_active
    mallory = make_user("mallory")
    enrol_totp(mallory)
    with pytest.raises(authz.Refused) as refused:
        create_project(actor=authz.Actor(mallory), name="atomicwrites")
    assert refused.value.code == authz.Code.CRITICAL_NAME_RESERVED


def test_owners_hear_of_a_deletion_request_and_of_the_admins_decision(
    atomicwrites, alice, make_user, mail_queue
):
    """A takeover that tries to delete a critical project is seen before an admin decides."""
    from bastion.events.models import SecurityEvent
    from bastion.packaging.models import Role, RoleName

    second_owner = make_user("bob")
    Role.objects.create(user=second_owner, project=atomicwrites, role_name=RoleName.OWNER)
    with pytest.raises(authz.Refused), mail_queue.committed():
        delete_project(authz.Actor(alice), atomicwrites)
    sent = mail_queue.deliver()
    assert sorted(m.to[0] for m in sent) == ["alice@example.com", "bob@example.com"]
    assert sent[0].subject == "[Bastion] atomicwrites: deletion of the whole project requested"
    assert "alice asked to delete the whole project of the critical project" in sent[0].body
    assert "Reason: abandoned" in sent[0].body
    requested = SecurityEvent.objects.get(tag="project:critical:deletion_requested")
    assert requested.additional["notified"] == ["alice", "bob"]

    sent.clear()
    with mail_queue.committed():
        deletions.decide(
            admin=make_user("root", admin=True), request=DeletionRequest.objects.get(),
            approve=False, note="still required by pytest",
        )  # fmt: skip
    sent = mail_queue.deliver()
    assert len(sent) == 2
    assert sent[0].subject == "[Bastion] atomicwrites: deletion of the whole project rejected"
    assert "Note: still required by pytest" in sent[0].body and "By: root" in sent[0].body
    decided = SecurityEvent.objects.get(tag="project:critical:deletion_rejected")
    assert decided.additional["notified"] == ["alice", "bob"]
