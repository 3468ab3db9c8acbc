"""The admin shows provenance as it was verified, and offers no way to change it."""

import pytest
from django.urls import reverse

from tests.factories import add_file, add_release, attest

pytestmark = pytest.mark.django_db


def test_provenance_is_listed_and_read_only(admin_client, make_project, alice):
    release = add_release(make_project("widget", owners=[alice]), "1.0")
    provenance = attest(add_file(release, "widget-1.0.tar.gz"))

    listing = admin_client.get(reverse("admin:publishing_provenance_changelist"))
    shown = admin_client.get(reverse("admin:publishing_provenance_change", args=[provenance.pk]))
    changed = admin_client.post(
        reverse("admin:publishing_provenance_change", args=[provenance.pk]), {"kind": "gitlab"}
    )

    assert "https://github.com/octo/widget" in listing.content.decode()
    assert shown.status_code == 200
    assert changed.status_code == 403
    provenance.refresh_from_db()
    assert provenance.kind == "github"
