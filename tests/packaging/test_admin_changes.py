"""An operator's edits in the admin take effect on the index at once, and leave a trace."""

import json

import pytest
from django.contrib.admin.sites import site
from django.forms import modelform_factory
from django.test import RequestFactory

from bastion.events.models import SecurityEvent
from bastion.packaging.models import Project, ProjectStatus, Release
from bastion.simple import rootlist
from bastion.simple import services as pages

pytestmark = pytest.mark.django_db


def listed_names() -> list[str]:
    """The names on the live tree's project list, as the read path brings it up to date (a
    change only marks it stale) and joins it."""
    pages.refresh_root()
    _, body, _ = rootlist.assemble(str(pages.pages_root()), "index.json")
    return [entry["name"] for entry in json.loads(body)["projects"]]


def save_in_admin(obj, admin_user, **changes):
    model_admin = site._registry[type(obj)]
    form_class = modelform_factory(type(obj), fields=list(changes))
    form = form_class(data=changes, instance=obj)
    assert form.is_valid(), form.errors
    model_admin.save_model(admin_request(admin_user), form.save(commit=False), form, change=True)


@pytest.fixture
def project(alice):
    project = Project.objects.create(name="Spam", normalized_name="spam")
    Release.objects.create(
        project=project, version="1.0", canonical_version="1", metadata_version="2.4"
    )
    return project


def test_quarantine_in_the_admin_re_renders_the_pages(
    project, make_user, django_capture_on_commit_callbacks
):
    pages.render_root()
    assert "Spam" in listed_names()
    admin_user = make_user("root", admin=True)
    with django_capture_on_commit_callbacks(execute=True):
        save_in_admin(
            project, admin_user, status=ProjectStatus.QUARANTINED, status_reason="malware"
        )
    project.refresh_from_db()
    assert project.last_serial > 0
    assert "Spam" not in listed_names()
    event = SecurityEvent.objects.get(tag="admin:change")
    assert event.user == admin_user and event.additional["fields"] == ["status", "status_reason"]


def test_a_yank_in_the_admin_moves_the_serial(project, make_user):
    release = project.releases.get()
    save_in_admin(release, make_user("root", admin=True), yanked=True, yanked_reason="broken")
    project.refresh_from_db()
    assert project.last_serial > 0
    assert SecurityEvent.objects.filter(tag="admin:change", project=project).exists()


@pytest.fixture
def served(project):
    """The project's release with a stored file and rendered pages, as an upload leaves them."""
    from tests.simple import factory

    factory.make_file(project.releases.get(), "spam-1.0.tar.gz")
    pages.render_project("spam")
    pages.render_root()
    return project.releases.get().files.get()


def admin_request(admin_user):
    request = RequestFactory().post("/admin/")
    request.user = admin_user
    return request


def test_deleting_a_project_in_the_admin_takes_it_off_the_index(
    project, served, make_user, django_capture_on_commit_callbacks
):
    from bastion.packaging import storage
    from bastion.packaging.models import DeletionRecord, FilenameReservation

    admin_user = make_user("root", admin=True)
    blob = storage.path_for(served.path)
    with django_capture_on_commit_callbacks(execute=True):
        site._registry[Project].delete_queryset(
            admin_request(admin_user), Project.objects.filter(pk=project.pk)
        )
    assert not Project.objects.filter(normalized_name="spam").exists()
    assert not blob.exists()  # the URL no longer serves the bytes
    assert not (pages.pages_root() / "spam" / "index.html").exists()
    assert "Spam" not in listed_names()
    assert FilenameReservation.objects.filter(filename="spam-1.0.tar.gz").exists()
    record = DeletionRecord.objects.get()
    assert (record.project_name, record.deleted_by) == ("spam", admin_user)
    assert SecurityEvent.objects.filter(tag="project:remove", user=admin_user).exists()


def test_deleting_a_release_in_the_admin_removes_its_files(
    project, served, make_user, django_capture_on_commit_callbacks
):
    from bastion.packaging import storage

    blob = storage.path_for(served.path)
    release = project.releases.get()
    with django_capture_on_commit_callbacks(execute=True):
        site._registry[Release].delete_model(admin_request(make_user("root", admin=True)), release)
    assert not Release.objects.exists() and not blob.exists()
    assert pages.refresh_project("spam")  # as the next read does
    assert "spam-1.0.tar.gz" not in (pages.pages_root() / "spam" / "index.html").read_text()
