"""Migration 0004 fills in how existing files were uploaded, from their upload events."""

from importlib import import_module

import pytest
from django.apps import apps

from bastion.events import services as events
from bastion.packaging.models import File
from tests.factories import add_release

pytestmark = pytest.mark.django_db

backfill = import_module("bastion.packaging.migrations.0004_file_uploaded_via")


def test_files_get_the_method_their_upload_event_names_and_others_stay_unknown(make_project):
    project = make_project("widget")
    add_release(project, "1.0", "widget-1.0.tar.gz", "widget-1.0-py3-none-any.whl")
    add_release(project, "0.9", "widget-0.9.tar.gz")
    events.record(
        "file:upload",
        project=project,
        filename="widget-1.0.tar.gz",
        token="trusted publisher 1",
        publisher="GitHub Actions: octo/widget workflow release.yml",
        publisher_id=1,
        claims={"repository": "octo/widget"},
    )
    events.record(
        "file:upload", project=project, filename="widget-1.0-py3-none-any.whl", token="laptop"
    )
    events.record("file:remove", project=project, filename="widget-0.9.tar.gz")

    backfill.backfill_from_upload_events(apps, None)

    assert dict(File.objects.values_list("filename", "uploaded_via")) == {
        "widget-1.0.tar.gz": "trusted_publisher",
        "widget-1.0-py3-none-any.whl": "api_token",
        "widget-0.9.tar.gz": "unknown",
    }
