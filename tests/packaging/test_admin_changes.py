"""An operator's edits in the admin take effect on the index at once, and leave a trace."""

import json

import pytest
from django.contrib.admin.sites import site
from django.forms import modelform_factory
from django.test import RequestFactory

from bastion.events.models import SecurityEvent
from bastion.packaging.models import Project, ProjectStatus, Release
from bastion.simple import services as pages

pytestmark = pytest.mark.django_db


def save_in_admin(obj, admin_user, **changes):
    model_admin = site._registry[type(obj)]
    form_class = modelform_factory(type(obj), fields=list(changes))
    form = form_class(data=changes, instance=obj)
    assert form.is_valid(), form.errors
    request = RequestFactory().post("/admin/")
    request.user = admin_user
    model_admin.save_model(request, form.save(commit=False), form, change=True)


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
    root = pages.pages_root() / "index.json"
    assert "Spam" in root.read_text()
    admin_user = make_user("root", admin=True)
    with django_capture_on_commit_callbacks(execute=True):
        save_in_admin(
            project, admin_user, status=ProjectStatus.QUARANTINED, status_reason="malware"
        )
    project.refresh_from_db()
    assert project.last_serial > 0
    names = [p["name"] for p in json.loads(root.read_text())["projects"]]
    assert "Spam" not in names
    event = SecurityEvent.objects.get(tag="admin:change")
    assert event.user == admin_user and event.additional["fields"] == ["status", "status_reason"]


def test_a_yank_in_the_admin_moves_the_serial(project, make_user):
    release = project.releases.get()
    save_in_admin(release, make_user("root", admin=True), yanked=True, yanked_reason="broken")
    project.refresh_from_db()
    assert project.last_serial > 0
    assert SecurityEvent.objects.filter(tag="admin:change", project=project).exists()
