"""Uploads that are refused: each gets a clear message and leaves nothing behind."""

import io
import json
import tarfile
import zipfile

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.files.uploadhandler import StopUpload
from django.http import QueryDict
from django.test import override_settings
from django.utils.datastructures import MultiValueDict

from bastion import authz
from bastion.events.services import Origin
from bastion.packaging import storage
from bastion.packaging.models import (
    File,
    FilenameReservation,
    Project,
    ProjectStatus,
    Role,
    RoleName,
)
from bastion.tokens.services import create_token
from bastion.upload import archives, filenames, services
from bastion.upload import form as upload_form
from bastion.upload.errors import UploadRejected
from bastion.upload.handlers import SizeCap
from tests.upload import dists
from tests.upload.conftest import Uploader, basic_auth, index_state

pytestmark = pytest.mark.django_db


# Authentication and the gate


def test_no_credentials_are_challenged(uploader, refused):
    response = uploader.upload(dists.wheel().form(), auth="")

    refused(response, 401, "Invalid or non-existent authentication information.")
    assert response["WWW-Authenticate"].startswith("Basic")


def test_unknown_token_refused(uploader, refused):
    response = uploader.upload(
        dists.wheel().form(), auth=basic_auth("__token__", "bastion-not-a-real-token")
    )

    refused(response, 403, "Invalid or non-existent authentication information.")


def test_password_upload_refused_with_a_pointer_to_tokens(uploader, refused):
    response = uploader.upload(dists.wheel().form(), auth=basic_auth("alice", "hunter22"))

    reason = refused(response, 403, "Use an API token")
    assert "__token__" in reason


def test_token_scoped_to_another_project_refused(uploader, scoped_uploader, make_user, refused):
    assert uploader.upload(dists.wheel("grail").form()).status_code == 200
    assert uploader.upload(dists.wheel("swallow").form()).status_code == 200
    scoped = scoped_uploader(Project.objects.get(normalized_name="grail"))

    response = scoped.upload(dists.sdist("swallow").form())

    refused(response, 403, "scoped to project 'grail'")


def test_scoped_token_cannot_create_a_project(uploader, scoped_uploader, refused):
    assert uploader.upload(dists.wheel("grail").form()).status_code == 200
    scoped = scoped_uploader(Project.objects.get())

    response = scoped.upload(dists.wheel("coconut").form())

    refused(response, 403, "cannot create a new project")


def test_user_without_a_role_refused(uploader, make_user, refused):
    assert uploader.upload(dists.wheel().form()).status_code == 200
    bob = make_user("bob")
    intruder = Uploader(uploader.client, bob, create_token(actor=authz.Actor(bob), name="t").secret)

    response = intruder.upload(dists.sdist().form())

    refused(response, 403, "The user 'bob' isn't allowed to upload to project 'holy-grail'")


def test_archived_project_refuses_uploads(uploader, refused):
    assert uploader.upload(dists.wheel().form()).status_code == 200
    Project.objects.update(status=ProjectStatus.ARCHIVED)

    refused(uploader.upload(dists.sdist().form()), 403, "does not accept uploads")


# The form


def test_missing_content_refused(uploader, refused):
    refused(
        uploader.upload(dists.wheel().form(content=None)),
        400,
        "Upload payload does not have a file.",
    )


@pytest.mark.parametrize("action", ["submit", "submit_pkg_info", "doc_upload"])
def test_retired_actions_are_gone(uploader, refused, action):
    refused(uploader.upload(dists.wheel().form(**{":action": action})), 410, "no longer")


def test_unknown_action_refused(uploader, refused):
    refused(uploader.upload(dists.wheel().form(**{":action": "frobnicate"})), 400, "Unknown action")


def test_action_as_query_parameter(uploader):
    form = dists.wheel().form(**{":action": None})

    assert uploader.upload(form, path="/legacy/?:action=file_upload").status_code == 200


def test_protocol_version_must_be_1(uploader, refused):
    refused(uploader.upload(dists.wheel().form(protocol_version="2")), 400, "Unknown protocol")


def test_unknown_filetype_refused(uploader, refused):
    refused(uploader.upload(dists.wheel().form(filetype="bdist_egg")), 400, "known file type")


def test_sdist_pyversion_must_be_source(uploader, refused):
    refused(uploader.upload(dists.sdist().form(pyversion="py3")), 400, "'source'")


def test_wheel_needs_pyversion(uploader, refused):
    refused(uploader.upload(dists.wheel().form(pyversion="")), 400, "Python version is required")


def test_at_least_one_digest_required(uploader, refused):
    form = dists.wheel().form(sha256_digest=None, blake2_256_digest=None)

    refused(uploader.upload(form), 400, "Include at least one message digest.")


def test_malformed_digest_refused(uploader, refused):
    refused(uploader.upload(dists.wheel().form(sha256_digest="abc")), 400, "sha256_digest")


@pytest.mark.parametrize("digest", ["md5_digest", "sha256_digest", "blake2_256_digest"])
def test_mismatched_digest_refused(uploader, refused, digest):
    wrong = "0" * (32 if digest == "md5_digest" else 64)

    refused(
        uploader.upload(dists.wheel().form(**{digest: wrong})),
        400,
        "The digest supplied does not match a digest calculated from the uploaded file.",
    )


def test_uppercase_digests_accepted(uploader):
    dist = dists.wheel()

    response = uploader.upload(dist.form(sha256_digest=dist.sha256.upper(), md5_digest=dist.md5))

    assert response.status_code == 200


def test_metadata_field_sent_as_file_refused(uploader, refused):
    form = dists.wheel().form(summary=SimpleUploadedFile("summary.txt", b"hi"))

    refused(uploader.upload(form), 400, "summary: Should not be a tuple.")


def test_single_use_field_given_twice_refused(uploader, refused):
    refused(uploader.upload(dists.wheel().form(version=["1.0", "2.0"])), 400, "'version'")


# Names


def test_invalid_project_name_refused(uploader, refused):
    refused(uploader.upload(dists.wheel().form(name="-grail-")), 400, "invalid value for Name")


def test_stdlib_module_name_refused_for_a_new_project(uploader, refused):
    refused(
        uploader.upload(dists.wheel("AsyncIO").form()),
        400,
        "conflict with Python Standard Library module name",
    )


@pytest.mark.parametrize(
    ("existing", "new"),
    [
        ("holy-grail", "ho1y-grai1"),
        ("holy-grail", "HolyGrail"),
        ("holy-grail", "holy.gra.il"),
        ("foo-bar", "F00Bar"),
        ("Illo", "1110"),
    ],
)
def test_confusable_new_name_refused(uploader, refused, existing, new):
    assert uploader.upload(dists.wheel(existing).form()).status_code == 200

    refused(uploader.upload(dists.wheel(new).form()), 400, "too similar to an existing project")


# Filenames


@pytest.mark.parametrize(
    ("filename", "message"),
    [
        ("../../holy_grail-1.0-py3-none-any.whl", "'/'"),
        ("..\\holy_grail-1.0-py3-none-any.whl", "'\\'"),
        ("..", "'..'"),
        (".holy_grail-1.0-py3-none-any.whl", "'..'"),
        ("holy_grail-1.0-py3-none-any\x07.whl", "non-printable"),
        ("holy_grail-1.0-py3-none-any\x7f.whl", "non-printable"),
        ("holy_grail-1.0-py3-none-any.egg", "Invalid file extension"),
        ("holy_grail-1.0.tar.gz", "Invalid file extension"),
    ],
)
def test_unsafe_or_wrong_filenames_refused(filename, message):
    with pytest.raises(UploadRejected) as refusal:
        filenames.check_safe(filename, "bdist_wheel")

    assert refusal.value.status == 400
    assert message in refusal.value.message


@pytest.mark.parametrize(
    ("sent", "message"),
    [
        ("../../holy_grail-1.0-py3-none-any.whl", "'/'"),
        ("..\\holy_grail-1.0-py3-none-any.whl", "'\\'"),
        ("..&#47;holy_grail-1.0-py3-none-any.whl", "'/'"),
        ("holy_grail-1.0-py3-none-any\x07.whl", "non-printable"),
    ],
)
def test_a_name_with_a_path_is_refused_as_sent_not_cut_to_its_last_part(uploader, sent, message):
    """Red-team finding: Django's parser quietly cut ``../../x.whl`` to ``x.whl`` (and dropped
    control characters) before the upload saw the name, so it was stored; PyPI refuses it."""
    import urllib3

    dist = dists.wheel()
    fields = {k: v for k, v in dist.form().items() if k != "content"}
    body, content_type = urllib3.encode_multipart_formdata(
        [*fields.items(), ("content", (sent, dist.content, "application/octet-stream"))]
    )
    before = index_state()

    response = uploader.client.post(
        "/legacy/",
        body,
        content_type=content_type,
        HTTP_AUTHORIZATION=basic_auth("__token__", uploader.secret),
    )

    assert response.status_code == 400 and message in response.reason_phrase
    assert index_state() == before


def test_traversal_filename_refused_by_the_service(uploader):
    """Django already strips directories from part filenames; the service refuses on its own."""
    dist = dists.wheel()
    form = upload_form.parse(_query(dist.form(content=None)), QueryDict(), MultiValueDict())
    content = SimpleUploadedFile(".." + dist.filename, dist.content)
    before = index_state()

    with pytest.raises(UploadRejected) as refusal:
        services.accept_upload(
            actor=authz.Actor(uploader.user), form=form, content=content, origin=Origin()
        )

    assert (refusal.value.status, "'..'" in refusal.value.message) == (400, True)
    assert index_state() == before


def test_traversal_in_part_filename_never_escapes_storage(uploader):
    dist = dists.wheel()
    form = dist.form()
    form["content"] = SimpleUploadedFile(dist.filename, dist.content)
    form["content"].name = dist.filename

    response = uploader.client.post(
        "/legacy/",
        _multipart_with_filename(form, "../../" + dist.filename),
        content_type="multipart/form-data; boundary=BOUNDARY",
        HTTP_AUTHORIZATION=basic_auth("__token__", uploader.secret),
    )

    assert response.status_code in (200, 400), response.reason_phrase
    for file in File.objects.all():
        assert "/" not in file.filename
        assert storage.path_for(file.path).is_relative_to(settings.FILES_DIR)


def _query(fields: dict) -> QueryDict:
    query = QueryDict(mutable=True)
    for key, value in fields.items():
        query.setlist(key, value if isinstance(value, list) else [value])
    return query


def _multipart_with_filename(form: dict, filename: str) -> bytes:
    """A body whose content part claims ``filename`` verbatim, as a hostile client might."""
    parts = []
    for key, value in form.items():
        if key == "content":
            continue
        for item in value if isinstance(value, list) else [value]:
            disposition = f'Content-Disposition: form-data; name="{key}"'
            parts.append(f"--BOUNDARY\r\n{disposition}\r\n\r\n{item}\r\n".encode())
    parts.append(
        f'--BOUNDARY\r\nContent-Disposition: form-data; name="content"; filename="{filename}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n".encode()
        + form["content"].read()
        + b"\r\n"
    )
    return b"".join(parts) + b"--BOUNDARY--\r\n"


def test_wheel_name_must_be_normalized(uploader, refused):
    dist = dists.wheel(filename="Holy_Grail-1.0-py3-none-any.whl")

    refused(uploader.upload(dist.form()), 400, "should contain the normalized project name")


def test_wheel_filename_version_must_match_metadata(uploader, refused):
    dist = dists.wheel(filename="holy_grail-2.0-py3-none-any.whl")

    refused(uploader.upload(dist.form()), 400, "Version in filename should be '1.0'")


def test_unsupported_platform_tag_refused(uploader, refused):
    dist = dists.wheel(tag="cp312-cp312-linux_x86_64")

    refused(uploader.upload(dist.form()), 400, "unsupported platform tag 'linux_x86_64'")


@pytest.mark.parametrize(
    "tag",
    [
        "cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64",
        "cp312-cp312-macosx_11_0_arm64",
        "cp312-cp312-macosx_10_9_x86_64",
        "cp312-cp312-win_amd64",
        "cp312-cp312-musllinux_1_2_aarch64",
    ],
)
def test_allowed_platform_tags_accepted(uploader, tag):
    response = uploader.upload(dists.wheel(tag=tag).form())

    assert response.status_code == 200, response.reason_phrase


def test_zip_sdist_refused_by_pep_625(uploader, refused):
    dist = dists.sdist(filename="holy_grail-1.0.zip")

    refused(uploader.upload(dist.form()), 400, "should be 'holy_grail-1.0.tar.gz'")


def test_sdist_filename_must_be_normalized(uploader, refused):
    dist = dists.sdist(filename="Holy-Grail-1.0.tar.gz", top="Holy-Grail-1.0")

    refused(uploader.upload(dist.form()), 400, "should be 'holy_grail-1.0.tar.gz'")


# Size and archive structure


@override_settings(MAX_UPLOAD_BYTES=100)
def test_oversized_file_refused(uploader, refused):
    refused(
        uploader.upload(dists.wheel().form()),
        400,
        "File too large. Limit for project 'holy-grail' is",
    )


def test_broken_zip_refused(uploader, refused):
    dist = dists.wheel()
    dist.content = b"PK\x03\x04 this is not really a zip file" * 10

    refused(uploader.upload(dist.form()), 400, "Invalid distribution file.")


def test_wheel_without_metadata_refused(uploader, refused):
    refused(uploader.upload(dists.wheel(omit=("METADATA",)).form()), 400, "METADATA not found")


def test_wheel_without_record_refused(uploader, refused):
    refused(uploader.upload(dists.wheel(omit=("RECORD",)).form()), 400, "RECORD not found")


def test_wheel_with_unsupported_compression_refused(uploader, refused):
    buffer = io.BytesIO()
    source = dists.wheel()
    with (
        zipfile.ZipFile(io.BytesIO(source.content)) as original,
        zipfile.ZipFile(buffer, "w") as archive,
    ):
        for info in original.infolist():
            archive.writestr(info.filename, original.read(info), zipfile.ZIP_BZIP2)
    source.content = buffer.getvalue()

    refused(uploader.upload(source.form()), 400, "supported compression type")


def test_zip_bomb_refused(uploader, refused, monkeypatch):
    monkeypatch.setattr(archives, "RATIO_CHECK_ABOVE_BYTES", 1024)
    dist = dists.wheel(extra_files={"holy_grail/zeros.bin": b"\0" * 1_000_000})

    refused(uploader.upload(dist.form()), 400, "compression ratio")


def test_too_many_members_refused(uploader, refused, monkeypatch):
    monkeypatch.setattr(archives, "MAX_MEMBERS", 3)

    refused(uploader.upload(dists.wheel().form()), 400, "more than 3 members")


def test_wheel_member_with_traversal_refused(uploader, refused):
    dist = dists.wheel(extra_files={"../evil.py": b""})

    refused(uploader.upload(dist.form()), 400, "unsafe path")


def test_sdist_without_pkg_info_at_top_refused(uploader, refused):
    dist = dists.sdist(top="holy_grail-1.0")
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        info = tarfile.TarInfo("holy_grail-1.0/setup.py")
        archive.addfile(info, io.BytesIO(b""))
    dist.content = buffer.getvalue()

    refused(uploader.upload(dist.form()), 400, "PKG-INFO not found")


def test_sdist_with_two_top_level_directories_refused(uploader, refused):
    dist = dists.sdist(extra_files={"elsewhere/evil.py": b""})

    refused(uploader.upload(dist.form()), 400, "one top-level directory")


def test_sdist_link_escaping_the_archive_refused(uploader, refused):
    link = tarfile.TarInfo("holy_grail-1.0/passwd")
    link.type = tarfile.SYMTYPE
    link.linkname = "../../etc/passwd"

    refused(uploader.upload(dists.sdist(members=[link]).form()), 400, "links outside")


def test_sdist_device_member_refused(uploader, refused):
    device = tarfile.TarInfo("holy_grail-1.0/null")
    device.type = tarfile.CHRTYPE

    refused(uploader.upload(dists.sdist(members=[device]).form()), 400, "not a file or directory")


def test_sdist_gzip_bomb_stops_inflating(uploader, refused, monkeypatch):
    monkeypatch.setattr(archives, "RATIO_CHECK_ABOVE_BYTES", 1024)
    dist = dists.sdist(extra_files={"holy_grail-1.0/zeros.bin": b"\0" * 1_000_000})

    refused(uploader.upload(dist.form()), 400, "compression ratio")


def test_not_a_gzip_sdist_refused(uploader, refused):
    dist = dists.sdist()
    dist.content = b"plain text, not gzip"

    refused(uploader.upload(dist.form()), 400, "Invalid distribution file.")


# Metadata


def test_invalid_version_refused(uploader, refused):
    dist = dists.wheel()

    refused(uploader.upload(dist.form(version="1.0-not!valid")), 400, "Invalid value for version")


def test_local_version_refused(uploader, refused):
    dist = dists.wheel(version="1.0+local")

    refused(uploader.upload(dist.form()), 400, "local versions")


def test_metadata_name_mismatch_with_form_refused(uploader, refused):
    dist = dists.wheel("holy-grail", metadata=dists.metadata_text("other-grail", "1.0"))

    refused(uploader.upload(dist.form()), 400, "does not match the name in the upload form")


def test_metadata_version_mismatch_with_filename_refused(uploader, refused):
    dist = dists.wheel(metadata=dists.metadata_text("holy-grail", "2.0"), form_headers=())

    refused(uploader.upload(dist.form()), 400, "does not match the version in the upload form")


@pytest.mark.parametrize("metadata_version", ["2.0", "2.6", "3.0"])
def test_unsupported_metadata_versions_refused(uploader, refused, metadata_version):
    dist = dists.wheel(metadata_version=metadata_version)

    refused(
        uploader.upload(dist.form()),
        400,
        f"'{metadata_version}' is not a valid metadata version",
    )


def test_archive_metadata_version_checked_even_when_form_says_otherwise(uploader, refused):
    dist = dists.wheel(metadata_version="2.0")
    dist.fields["metadata_version"] = "2.1"

    reason = refused(uploader.upload(dist.form()), 400, "'2.0' is not a valid metadata version")
    assert "METADATA" in reason


def test_field_newer_than_metadata_version_refused(uploader, refused):
    dist = dists.wheel(metadata_version="2.1", headers=[("License-Expression", "MIT")])

    refused(uploader.upload(dist.form()), 400, "introduced in metadata version 2.4")


def test_license_and_license_expression_refused(uploader, refused):
    dist = dists.wheel(
        metadata_version="2.4", headers=[("License", "MIT"), ("License-Expression", "MIT")]
    )

    refused(uploader.upload(dist.form()), 400, "mutually exclusive")


def test_bad_spdx_expression_refused(uploader, refused):
    dist = dists.wheel(metadata_version="2.4", headers=[("License-Expression", "Foo-Bar-1.0")])

    refused(uploader.upload(dist.form()), 400, "Invalid value for license-expression")


@pytest.mark.parametrize(
    ("path", "message"),
    [("../LICENSE", "parent directory"), ("LIC*", "resolved"), ("/etc/LICENSE", "relative")],
)
def test_bad_license_file_paths_refused(uploader, refused, path, message):
    dist = dists.wheel(metadata_version="2.4", headers=[("License-File", path)])

    refused(uploader.upload(dist.form()), 400, message)


def test_license_file_missing_from_wheel_refused(uploader, refused):
    dist = dists.wheel(metadata_version="2.4", headers=[("License-File", "LICENSE")])

    refused(uploader.upload(dist.form()), 400, "License-File LICENSE does not exist")


def test_license_file_missing_from_sdist_refused(uploader, refused):
    dist = dists.sdist(metadata_version="2.4", headers=[("License-File", "COPYING")])

    refused(uploader.upload(dist.form()), 400, "holy_grail-1.0/COPYING")


def test_summary_over_512_characters_refused(uploader, refused):
    dist = dists.wheel(headers=[("Summary", "x" * 513)])

    refused(uploader.upload(dist.form()), 400, "512 characters or less")


def test_unknown_classifier_refused(uploader, refused):
    dist = dists.wheel(headers=[("Classifier", "Programming Language :: Cobol :: 85")])

    refused(uploader.upload(dist.form()), 400, "is not a valid classifier")


def test_deprecated_classifier_refused(uploader, refused):
    dist = dists.wheel(headers=[("Classifier", "Natural Language :: Ukranian")])

    refused(uploader.upload(dist.form()), 400, "deprecated")


def test_direct_url_dependency_refused(uploader, refused):
    dist = dists.wheel(headers=[("Requires-Dist", "evil @ https://example.com/evil.whl")])

    refused(uploader.upload(dist.form()), 400, "Can't have direct dependency")


def test_invalid_dynamic_value_refused(uploader, refused):
    dist = dists.wheel(metadata_version="2.2", headers=[("Dynamic", "Name")])

    refused(uploader.upload(dist.form()), 400, "not allowed as a dynamic field")


def test_long_project_url_label_refused(uploader, refused):
    dist = dists.wheel(headers=[("Project-URL", f"{'L' * 33}, https://example.com")])

    refused(uploader.upload(dist.form()), 400, "32 characters or less")


def test_invalid_author_email_refused(uploader, refused):
    dist = dists.wheel(headers=[("Author-email", "Arthur <not an email>")])

    refused(uploader.upload(dist.form()), 400, "not a valid email address")


# Duplicates and conflicts


def test_same_filename_with_different_bytes_refused(uploader, refused):
    assert uploader.upload(dists.wheel(headers=[("Summary", "a")]).form()).status_code == 200
    changed = dists.wheel(headers=[("Summary", "b")])

    reason = refused(uploader.upload(changed.form()), 400, "File already exists")
    assert reason.startswith(
        f"File already exists ('{changed.filename}', with blake2_256 hash '{changed.blake2_256}')."
    )
    assert "/help/#file-name-reuse" in reason


def test_same_bytes_under_another_filename_refused(uploader, refused):
    original = dists.wheel()
    assert uploader.upload(original.form()).status_code == 200
    renamed = dists.wheel()
    renamed.filename = "holy_grail-1.0-py2.py3-none-any.whl"

    refused(uploader.upload(renamed.form(pyversion="py2.py3")), 400, "File already exists")


def test_a_name_of_one_file_with_the_bytes_of_another_refused(uploader, refused):
    """The name matches one file and the bytes another: neither is this upload."""
    original = dists.wheel()
    assert uploader.upload(original.form()).status_code == 200
    other = dists.wheel(headers=[("Summary", "other")])
    other.filename = "holy_grail-1.0-py2.py3-none-any.whl"
    assert uploader.upload(other.form(pyversion="py2.py3")).status_code == 200
    original.filename = other.filename

    refused(uploader.upload(original.form(pyversion="py2.py3")), 400, "File already exists")


def test_deleted_filename_cannot_be_reused(uploader, refused):
    dist = dists.wheel()
    assert uploader.upload(dist.form()).status_code == 200
    File.objects.all().delete()
    assert FilenameReservation.objects.filter(filename=dist.filename).exists()
    rebuilt = dists.wheel(headers=[("Summary", "rebuilt")])

    refused(
        uploader.upload(rebuilt.form()),
        400,
        "This filename was previously used by a file that has since been deleted. "
        "Use a different version.",
    )


def test_second_sdist_for_a_release_refused(uploader, refused):
    assert uploader.upload(dists.sdist(version="1.0").form()).status_code == 200
    second = dists.sdist(version="1.0.0")

    refused(uploader.upload(second.form()), 400, "Only one sdist may be uploaded per release.")


# Error transport


def test_json_error_when_client_prefers_json(uploader):
    response = uploader.upload(
        dists.wheel().form(protocol_version="9"),
        HTTP_ACCEPT="application/json;q=0.9, text/plain;q=0.8, text/html;q=0.7",
    )

    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert json.loads(response.content) == {
        "message": "Unknown protocol version.",
        "code": "400 Unknown protocol version.",
        "title": "Bad Request",
    }


def test_non_latin_message_is_replaced_in_reason_but_kept_in_body(uploader):
    dist = dists.wheel(headers=[("Classifier", "Snowman :: ☃")])

    response = uploader.upload(dist.form())

    assert response.status_code == 400
    response.reason_phrase.encode("iso-8859-1")
    assert "☃" in response.content.decode()


def test_get_is_not_allowed(uploader):
    assert uploader.client.get("/legacy/").status_code == 405


def test_owner_role_not_created_for_refused_first_upload(uploader):
    dist = dists.wheel(omit=("WHEEL",))

    assert uploader.upload(dist.form()).status_code == 400
    assert not Role.objects.filter(role_name=RoleName.OWNER).exists()


def test_description_that_does_not_render_refused(uploader, refused):
    """PyPI refuses reStructuredText that fails to render (and markup it would not allow)."""
    text = dists.metadata_text(
        "holy-grail", "1.0", headers=[("Description-Content-Type", "text/x-rst")]
    )
    dist = dists.wheel(metadata=text + "Title\n=====\n\n.. unknown-directive::\n")

    refused(uploader.upload(dist.form()), 400, "The description failed to render for 'text/x-rst'.")


@override_settings(MAX_UPLOAD_BYTES=1000)
def test_an_oversized_file_is_not_stored_while_it_streams_in():
    """The cap stops storing at the limit: a huge upload never fills the disk before refusal."""
    cap = SizeCap()
    assert cap.receive_data_chunk(b"x" * 600, 0) == b"x" * 600
    with pytest.raises(StopUpload) as stopped:
        cap.receive_data_chunk(b"x" * 600, 600)
    assert stopped.value.connection_reset is False  # the rest is drained, so the 400 arrives
    assert cap.exceeded


def test_wheel_whose_members_zipfile_cannot_read_refused(uploader, refused):
    """Flag bit 5 (compressed patched data) makes zipfile raise NotImplementedError on read."""
    dist = dists.wheel()
    data = bytearray(dist.content)
    for signature, flag_offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        start = 0
        while (start := data.find(signature, start)) != -1:
            data[start + flag_offset] |= 0x20
            start += 4
    dist.content = bytes(data)

    refused(uploader.upload(dist.form()), 400, "The zip archive cannot be read")
