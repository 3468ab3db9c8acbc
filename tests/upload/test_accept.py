"""Uploads that succeed, and what they record."""

import hashlib

import pytest
from django.conf import settings

from bastion.events.models import SecurityEvent
from bastion.packaging import storage
from bastion.packaging.models import (
    Dependency,
    File,
    FilenameReservation,
    JournalEntry,
    Project,
    Release,
    Role,
    RoleName,
)
from tests.upload import dists
from tests.upload.conftest import stored_files

pytestmark = pytest.mark.django_db


def test_first_upload_creates_project_with_uploader_as_owner(uploader):
    dist = dists.wheel("Holy.Grail", headers=[("Summary", "Tis but a scratch")])

    response = uploader.upload(dist.form())

    assert response.status_code == 200, response.reason_phrase
    assert response.content == b""
    project = Project.objects.get(normalized_name="holy-grail")
    assert project.name == "Holy.Grail"
    assert Role.objects.get(project=project).role_name == RoleName.OWNER
    assert Role.objects.get(project=project).user == uploader.user
    release = Release.objects.get(project=project)
    assert (release.version, release.canonical_version, release.summary) == (
        "1.0",
        "1",
        "Tis but a scratch",
    )
    file = File.objects.get()
    assert (file.filename, file.sha256_digest, file.blake2_256_digest, file.md5_digest) == (
        dist.filename,
        dist.sha256,
        dist.blake2_256,
        dist.md5,
    )
    assert file.size == len(dist.content)
    assert file.upload_time.utcoffset().total_seconds() == 0
    assert FilenameReservation.objects.filter(filename=dist.filename).exists()
    assert {e.tag for e in SecurityEvent.objects.filter(project=project)} >= {
        "project:create",
        "file:upload",
    }


def test_upload_stores_bytes_and_wheel_metadata_under_content_hash(uploader):
    dist = dists.wheel()

    assert uploader.upload(dist.form()).status_code == 200

    file = File.objects.get()
    assert file.path == storage.key_for(dist.blake2_256, dist.filename)
    assert storage.path_for(file.path).read_bytes() == dist.content
    metadata = storage.path_for(file.metadata_path).read_bytes()
    assert file.metadata_path == file.path + ".metadata"
    assert metadata.startswith(b"Metadata-Version: 2.1\nName: holy-grail\n")
    assert file.metadata_sha256_digest == hashlib.sha256(metadata).hexdigest()


def test_upload_accepted_without_trailing_slash_and_never_redirected(uploader):
    response = uploader.upload(dists.wheel().form(), path="/legacy")

    assert response.status_code == 200
    assert File.objects.count() == 1


def test_every_change_bumps_the_serial(uploader):
    assert uploader.upload(dists.wheel().form()).status_code == 200
    assert uploader.upload(dists.sdist().form()).status_code == 200

    actions = list(JournalEntry.objects.order_by("pk").values_list("action", flat=True))
    assert actions == [
        "create",
        "add Owner alice",
        "new release",
        "add py3 file holy_grail-1.0-py3-none-any.whl",
        "add source file holy_grail-1.0.tar.gz",
    ]
    project = Project.objects.get()
    assert project.last_serial == JournalEntry.objects.order_by("-pk").first().pk


def test_later_files_do_not_change_release_metadata(uploader):
    first = dists.wheel(headers=[("Summary", "first")])
    second = dists.sdist(headers=[("Summary", "second")])

    assert uploader.upload(first.form()).status_code == 200
    assert uploader.upload(second.form()).status_code == 200

    release = Release.objects.get()
    assert release.summary == "first"
    assert release.files.count() == 2


def test_release_metadata_comes_from_the_archive_not_the_form(uploader):
    dist = dists.wheel(headers=[("Summary", "from METADATA")])

    response = uploader.upload(dist.form(summary="from the form"))

    assert response.status_code == 200
    assert Release.objects.get().summary == "from METADATA"


def test_release_identity_uses_canonical_version(uploader):
    assert uploader.upload(dists.wheel(version="1.0").form()).status_code == 200
    response = uploader.upload(dists.sdist(version="1.0.0").form())

    assert response.status_code == 200, response.reason_phrase
    assert Release.objects.count() == 1


def test_dependencies_recorded_with_extra_only(uploader):
    dist = dists.wheel(
        headers=[
            ("Requires-Dist", "Requests>=2"),
            ("Requires-Dist", 'pytest; extra == "test"'),
            ("Requires-Dist", 'tomli; python_version < "3.11"'),
            ("Requires-Dist", 'odd; platform_machine == "extra"'),
            ("Provides-Extra", "test"),
        ]
    )

    assert uploader.upload(dist.form()).status_code == 200

    rows = {d.name: d for d in Dependency.objects.all()}
    assert set(rows) == {"requests", "pytest", "tomli", "odd"}
    assert (rows["requests"].specifier, rows["requests"].extra_only) == (">=2", False)
    assert rows["pytest"].extra_only is True
    assert rows["pytest"].marker == 'extra == "test"'
    assert rows["tomli"].extra_only is False
    assert rows["odd"].extra_only is False


def test_identical_reupload_is_a_no_op(uploader):
    dist = dists.wheel()
    assert uploader.upload(dist.form()).status_code == 200
    serial = JournalEntry.objects.count()

    response = uploader.upload(dist.form())

    assert response.status_code == 200
    assert File.objects.count() == 1
    assert JournalEntry.objects.count() == serial


@pytest.mark.parametrize("metadata_version", ["1.0", "1.2", "2.1", "2.4", "2.5"])
def test_supported_metadata_versions_accepted(uploader, metadata_version):
    response = uploader.upload(dists.wheel(metadata_version=metadata_version).form())

    assert response.status_code == 200, response.reason_phrase
    assert Release.objects.get().metadata_version == metadata_version


def test_metadata_2_4_license_expression_and_files(uploader):
    headers = [("License-Expression", "mit OR apache-2.0"), ("License-File", "LICENSE")]
    dist = dists.wheel(
        metadata_version="2.4",
        headers=headers,
        extra_files={"holy_grail-1.0.dist-info/licenses/LICENSE": b"MIT"},
    )

    response = uploader.upload(dist.form())

    assert response.status_code == 200, response.reason_phrase
    release = Release.objects.get()
    assert release.license_expression == "MIT OR Apache-2.0"
    assert release.license_files == ["LICENSE"]


def test_sdist_license_file_found_in_the_archive(uploader):
    dist = dists.sdist(
        metadata_version="2.4",
        headers=[("License-Expression", "MIT"), ("License-File", "LICENSES/MIT.txt")],
        extra_files={"holy_grail-1.0/LICENSES/MIT.txt": b"MIT"},
    )

    assert uploader.upload(dist.form()).status_code == 200


def test_metadata_2_5_import_names_stored(uploader):
    dist = dists.wheel(metadata_version="2.5", headers=[("Import-Name", "holy_grail")])

    assert uploader.upload(dist.form()).status_code == 200

    assert Release.objects.get().import_names == ["holy_grail"]


def test_old_setuptools_license_file_in_metadata_2_1_is_tolerated(uploader):
    dist = dists.wheel(headers=[("License-File", "LICENSE"), ("Platform", "UNKNOWN")])

    response = uploader.upload(dist.form())

    assert response.status_code == 200, response.reason_phrase
    release = Release.objects.get()
    assert release.license_files == []
    assert release.platform == []


def test_upload_to_own_existing_project_with_scoped_token(uploader, scoped_uploader):
    assert uploader.upload(dists.wheel().form()).status_code == 200
    scoped = scoped_uploader(Project.objects.get())

    response = scoped.upload(dists.sdist().form())

    assert response.status_code == 200, response.reason_phrase


def test_bearer_token_accepted(uploader):
    response = uploader.upload(dists.wheel().form(), auth=f"Bearer {uploader.secret}")

    assert response.status_code == 200


def test_upload_does_not_leave_temporary_files(uploader):
    dist = dists.wheel()
    assert uploader.upload(dist.form()).status_code == 200

    names = {path.name for path in stored_files()}
    assert not any(name.startswith(".incoming-") for name in names)
    assert settings.FILES_DIR.exists()


@pytest.mark.parametrize(
    ("content_type", "description"),
    [("text/markdown", "# Title\n\n.. not a directive here"), ("", "A *plain* rst body.\n")],
)
def test_descriptions_that_render_are_accepted(uploader, content_type, description):
    headers = [("Description-Content-Type", content_type)] if content_type else []
    text = dists.metadata_text("holy-grail", "1.0", headers=headers)
    response = uploader.upload(dists.wheel(metadata=text + description).form())
    assert response.status_code == 200, response.reason_phrase
    assert Release.objects.get().description == description
