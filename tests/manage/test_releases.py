"""Yanking, unyanking and deleting releases and files from the release page."""

import re

import pytest
from django.urls import reverse

from bastion.events.models import SecurityEvent
from bastion.packaging import storage
from bastion.packaging.models import (
    DeletionRecord,
    File,
    FilenameReservation,
    JournalEntry,
    Release,
)
from bastion.packaging.signals import project_changed
from tests.factories import add_release

pytestmark = pytest.mark.django_db

RELEASE = {"name": "widget", "version": "1.0"}


@pytest.fixture
def changed_pages():
    """Names whose simple pages the index was told to re-render."""
    names = []

    def receiver(sender, normalized_name, **kwargs):
        names.append(normalized_name)

    project_changed.connect(receiver)
    yield names
    project_changed.disconnect(receiver)


def test_yank_with_a_reason_then_unyank(world, owner_client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(
            reverse("yank_release", kwargs=RELEASE), {"reason": "Broken on Windows"}
        )
    assert response.status_code == 302
    release = Release.objects.get(version="1.0")
    assert (release.yanked, release.yanked_reason) == (True, "Broken on Windows")
    event = SecurityEvent.objects.get(tag="release:yank")
    assert event.additional["reason"] == "Broken on Windows"
    assert event.user_agent == "pytest-browser/1.0"
    page = owner_client.get(reverse("manage_release", kwargs=RELEASE)).content
    assert b"Unyank 1.0" in page

    owner_client.post(reverse("unyank_release", kwargs=RELEASE))
    release.refresh_from_db()
    assert (release.yanked, release.yanked_reason) == (False, "")
    assert SecurityEvent.objects.filter(tag="release:unyank").exists()


def test_yank_url_only_accepts_post(world, owner_client):
    assert owner_client.get(reverse("yank_release", kwargs=RELEASE)).status_code == 405


def test_unknown_release_is_404(world, owner_client):
    url = reverse("manage_release", kwargs={"name": "widget", "version": "9.9"})
    assert owner_client.get(url).status_code == 404


def test_delete_release_needs_the_typed_version(world, owner_client):
    response = owner_client.post(
        reverse("delete_release", kwargs=RELEASE), {"confirm": "2.0", "reason": "mistake"}
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert page.index("Type &#x27;1.0&#x27; exactly") > page.index('id="id_delete_confirm"')
    assert Release.objects.filter(version="1.0").exists()
    assert not DeletionRecord.objects.exists()


def test_delete_release_needs_a_reason(world, owner_client):
    response = owner_client.post(
        reverse("delete_release", kwargs=RELEASE), {"confirm": "1.0", "reason": ""}
    )
    assert response.status_code == 400
    assert b"This field is required" in response.content
    assert Release.objects.filter(version="1.0").exists()


def test_delete_release_keeps_reason_reservation_and_journal(
    world, owner_client, changed_pages, django_capture_on_commit_callbacks
):
    file = File.objects.get(release__version="1.0")
    blob = storage.path_for(file.path)
    assert blob.exists()
    serial = world.project.last_serial
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(
            reverse("delete_release", kwargs=RELEASE),
            {"confirm": "1.0", "reason": "Contained a leaked secret"},
        )
    assert response.status_code == 302
    assert not Release.objects.filter(version="1.0").exists()
    assert Release.objects.filter(version="2.0").exists()
    assert not File.objects.filter(filename=file.filename).exists()
    assert FilenameReservation.objects.filter(filename=file.filename).exists()
    assert not blob.exists()
    record = DeletionRecord.objects.get()
    assert (record.reason, record.filenames, record.whole_release) == (
        "Contained a leaked secret",
        [file.filename],
        True,
    )
    assert record.deleted_by == world.owner
    entry = JournalEntry.objects.latest("pk")
    assert (entry.action, entry.version) == ("remove release", "1.0")
    world.project.refresh_from_db()
    assert world.project.last_serial == entry.pk > serial
    assert changed_pages == ["widget"]
    event = SecurityEvent.objects.get(tag="release:remove")
    assert event.additional["reason"] == "Contained a leaked secret"


def test_delete_one_file(world, owner_client, django_capture_on_commit_callbacks):
    release = add_release(world.project, "3.0", "widget-3.0.tar.gz", "widget-3.0-py3-none-any.whl")
    url = reverse("delete_file", kwargs={"name": "widget", "version": "3.0"})
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(
            url,
            {
                "filename": "widget-3.0-py3-none-any.whl",
                "confirm": "widget-3.0-py3-none-any.whl",
                "reason": "wrong tag",
            },
        )
    assert response.status_code == 302
    assert list(release.files.values_list("filename", flat=True)) == ["widget-3.0.tar.gz"]
    assert FilenameReservation.objects.filter(filename="widget-3.0-py3-none-any.whl").exists()
    assert DeletionRecord.objects.get().whole_release is False
    assert JournalEntry.objects.latest("pk").action == "remove file widget-3.0-py3-none-any.whl"
    assert SecurityEvent.objects.get(tag="file:remove").additional["filenames"] == [
        "widget-3.0-py3-none-any.whl"
    ]


def test_delete_file_with_wrong_confirmation_shows_error_beside_that_file(world, owner_client):
    add_release(world.project, "3.0", "widget-3.0.tar.gz", "widget-3.0-py3-none-any.whl")
    url = reverse("delete_file", kwargs={"name": "widget", "version": "3.0"})
    response = owner_client.post(
        url, {"filename": "widget-3.0.tar.gz", "confirm": "widget", "reason": "x"}
    )
    assert response.status_code == 400
    assert File.objects.filter(filename="widget-3.0.tar.gz").exists()
    page = response.content.decode()
    assert page.count("Type &#x27;widget-3.0.tar.gz&#x27; exactly") == 1
    assert "<details open>" in page
    assert_each_label_leads_to_its_own_field(page)


def assert_each_label_leads_to_its_own_field(page: str) -> None:
    """UI review finding: the yank form, the deletion form and (after a failed file deletion)
    the file forms shared ids, so "Reason for deleting" focused the yank reason."""
    ids = re.findall(r'\bid="([^"]+)"', page)
    assert sorted(ids) == sorted(set(ids)), [i for i in set(ids) if ids.count(i) > 1]
    for target in re.findall(r'<label for="([^"]+)"', page):
        assert f'id="{target}"' in page


def test_every_field_of_the_release_page_has_an_id_of_its_own(world, owner_client):
    add_release(world.project, "3.0", "widget-3.0.tar.gz", "widget-3.0-py3-none-any.whl")
    url = reverse("manage_release", kwargs={"name": "widget", "version": "3.0"})
    assert_each_label_leads_to_its_own_field(owner_client.get(url).content.decode())


def test_file_of_another_project_cannot_be_deleted_through_this_one(
    world, owner_client, make_project
):
    make_project("Other", owners=[world.owner], versions=["1.0"])
    url = reverse("delete_file", kwargs=RELEASE)
    filename = "other-1.0.tar.gz"
    response = owner_client.post(url, {"filename": filename, "confirm": filename, "reason": "x"})
    assert response.status_code == 404
    assert File.objects.filter(filename=filename).exists()
