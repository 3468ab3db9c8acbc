"""Deleting a whole project from its settings page, as an owner."""

import pytest
from django.urls import reverse

from bastion import authz
from bastion.authz.creation import create_project
from bastion.events.models import SecurityEvent
from bastion.packaging import storage
from bastion.packaging.models import (
    DeletionRecord,
    File,
    FilenameReservation,
    JournalEntry,
    Project,
    Release,
    Role,
)

pytestmark = pytest.mark.django_db

URL = reverse("delete_project", kwargs={"name": "widget"})


def test_the_settings_page_offers_deletion_to_owners(world, owner_client):
    html = owner_client.get(reverse("project_settings", kwargs={"name": "widget"})).content
    assert b"Delete the project" in html and URL.encode() in html


def test_an_owner_deletes_the_project_and_its_history_stays(
    world, owner_client, django_capture_on_commit_callbacks
):
    files = list(File.objects.filter(release__project=world.project))
    blobs = [storage.path_for(file.path) for file in files]
    assert all(blob.exists() for blob in blobs)
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(URL, {"confirm": "Widget", "reason": "Superseded by gadget"})
    assert response.status_code == 302 and response["Location"] == reverse("my_projects")
    assert not Project.objects.filter(normalized_name="widget").exists()
    assert not Release.objects.exists() and not File.objects.exists()
    assert not Role.objects.exists()
    assert not any(blob.exists() for blob in blobs)
    filenames = sorted(file.filename for file in files)
    assert sorted(FilenameReservation.objects.values_list("filename", flat=True)) == filenames
    record = DeletionRecord.objects.get()
    assert (record.project_name, record.version, record.reason) == (
        "widget",
        "",
        "Superseded by gadget",
    )
    assert sorted(record.filenames) == filenames and record.deleted_by == world.owner
    assert JournalEntry.objects.latest("pk").action == "remove project"
    event = SecurityEvent.objects.get(tag="project:remove")
    assert event.additional["releases"] == ["1.0", "2.0"]
    assert world.client_for(world.owner).get("/simple/widget/").status_code == 404


def test_the_name_is_free_again_but_its_filenames_are_not(world, owner_client, make_user):
    owner_client.post(URL, {"confirm": "Widget", "reason": "Gone"})
    newcomer = make_user("nina")
    again = create_project(actor=authz.Actor(newcomer), name="widget")
    assert again.roles.get().user == newcomer
    reserved = FilenameReservation.objects.filter(filename="widget-1.0.tar.gz")
    assert reserved.exists()


@pytest.mark.parametrize(
    ("form", "error"),
    [
        ({"confirm": "widget-typo", "reason": "Gone"}, "Type &#x27;Widget&#x27; exactly"),
        ({"confirm": "Widget", "reason": "  "}, "This field is required"),
    ],
)
def test_a_wrong_name_or_no_reason_deletes_nothing(world, owner_client, form, error):
    response = owner_client.post(URL, form)
    assert response.status_code == 400
    assert error in response.content.decode()
    assert Project.objects.filter(normalized_name="widget").exists()
    assert File.objects.count() == 2


def test_a_maintainer_cannot_delete_the_project(world):
    response = world.client_for(world.maintainer).post(URL, {"confirm": "Widget", "reason": "x"})
    assert response.status_code == 403
    assert Project.objects.filter(normalized_name="widget").exists()


def test_deleting_needs_a_post(world, owner_client):
    assert owner_client.get(URL).status_code == 405


def test_the_service_refuses_without_the_gate(world):
    from bastion.authz import management
    from bastion.events.services import CLI

    with pytest.raises(authz.Refused) as refused:
        management.delete_project(
            actor=authz.Actor(world.stranger),
            project=world.project,
            confirm="Widget",
            reason="x",
            origin=CLI,
        )
    assert refused.value.code == authz.Code.ROLE_REQUIRED
