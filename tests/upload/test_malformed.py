"""Malformed uploads found by fuzzing (issue 11, findings 6, 9 and 10): each is refused with a
400 that says why, before anything is stored, on SQLite and on PostgreSQL alike."""

import hashlib
import io
import struct
import zipfile

import pytest

from tests.upload import dists

pytestmark = pytest.mark.django_db

_CENTRAL = b"PK\x01\x02"
_CRC_OFFSET = 16  # in a central directory entry


def _rewrite(dist: dists.Dist, replaced: dict[str, bytes]) -> None:
    """The same wheel with some members' bytes replaced (zipfile writes matching CRCs)."""
    buffer = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(dist.content)) as original,
        zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive,
    ):
        for info in original.infolist():
            archive.writestr(info, replaced.get(info.filename, original.read(info)))
    dist.content = buffer.getvalue()


def _record_line(dist: dists.Dist, member: str) -> str:
    with zipfile.ZipFile(io.BytesIO(dist.content)) as archive:
        record = archive.read("holy_grail-1.0.dist-info/RECORD").decode()
    return next(line for line in record.splitlines() if line.startswith(member + ","))


def _replace_in_record(dist: dists.Dist, old: str, new: str) -> None:
    path = "holy_grail-1.0.dist-info/RECORD"
    with zipfile.ZipFile(io.BytesIO(dist.content)) as archive:
        record = archive.read(path).decode()
    assert old in record
    _rewrite(dist, {path: record.replace(old, new).encode()})


# 6. NUL characters


@pytest.mark.parametrize("field", ["comment", "pyversion", "summary", "description", "author"])
def test_nul_in_a_form_field_refused_before_anything_is_stored(uploader, refused, field):
    dist = dists.wheel()
    value = {"pyversion": "py3\x00"}.get(field, "Grail\x00")

    refused(uploader.upload(dist.form(**{field: value})), 400, f"'{field}' contains a NUL")


def test_nul_in_the_action_query_parameter_refused(uploader, refused):
    form = dists.wheel().form(**{":action": None})

    response = uploader.upload(form, path="/legacy/?:action=file_upload%00")

    refused(response, 400, "contains a NUL")


@pytest.mark.parametrize("header", ["Summary", "Author", "Keywords"])
def test_nul_in_wheel_metadata_refused_before_anything_is_stored(uploader, refused, header):
    dist = dists.wheel(headers=[(header, "Grail\x00")], form_headers=[])

    refused(uploader.upload(dist.form()), 400, "METADATA contains a NUL byte")


def test_nul_in_sdist_description_refused(uploader, refused):
    dist = dists.sdist(description="Ni!\x00")

    refused(uploader.upload(dist.form()), 400, "PKG-INFO contains a NUL byte")


def test_nul_in_the_user_agent_of_an_upload_refused(uploader):
    response = uploader.upload(dists.wheel().form(), HTTP_USER_AGENT="twine\x00")

    assert response.status_code == 400
    assert "NUL" in response.content.decode()


# 9. Zip archives zipfile cannot open


def test_member_name_flagged_utf8_that_is_not_utf8_refused(uploader, refused):
    dist = dists.wheel(extra_files={"holy_grail/caf\u00e9.py": b""})
    assert b"caf\xc3\xa9" in dist.content  # zipfile sets the UTF-8 flag for this name
    dist.content = dist.content.replace(b"caf\xc3\xa9", b"caf\xff\xfe")

    refused(uploader.upload(dist.form()), 400, "The zip archive cannot be read")


def test_central_directory_offset_past_the_start_refused(uploader, refused):
    dist = dists.wheel()
    data = bytearray(dist.content)
    end = data.rfind(b"PK\x05\x06")
    struct.pack_into("<I", data, end + 16, 0xFFFFFF00)  # offset of the central directory
    dist.content = bytes(data)

    refused(uploader.upload(dist.form()), 400, "The zip archive cannot be read")


# 10. Corrupt members


def test_wheel_member_with_a_bad_crc_refused(uploader, refused):
    dist = dists.wheel(extra_files={"holy_grail/grail.py": b"print('Ni!')\n" * 100})
    data = bytearray(dist.content)
    name_at = data.find(b"holy_grail/grail.py", data.find(_CENTRAL))
    entry = data.rfind(_CENTRAL, 0, name_at)
    (crc,) = struct.unpack_from("<I", data, entry + _CRC_OFFSET)
    struct.pack_into("<I", data, entry + _CRC_OFFSET, crc ^ 1)
    dist.content = bytes(data)

    reason = refused(uploader.upload(dist.form()), 400, "'holy_grail/grail.py' is corrupt")
    assert "CRC" in reason


def test_wheel_member_that_does_not_match_record_refused(uploader, refused):
    dist = dists.wheel(extra_files={"holy_grail/grail.py": b"print('Ni!')\n"})
    _rewrite(dist, {"holy_grail/grail.py": b"import os; os.system('rm -rf ~')\n"})

    refused(
        uploader.upload(dist.form()),
        400,
        "'holy_grail/grail.py' does not match its sha256 hash in holy_grail-1.0.dist-info/RECORD",
    )


def test_wheel_member_whose_size_differs_from_record_refused(uploader, refused):
    dist = dists.wheel(extra_files={"holy_grail/grail.py": b"print('Ni!')\n"})
    line = _record_line(dist, "holy_grail/grail.py")
    _replace_in_record(dist, line, line.rsplit(",", 1)[0] + ",99")

    refused(uploader.upload(dist.form()), 400, "'holy_grail/grail.py' is 13 bytes, but")


def test_record_with_a_forbidden_hash_refused(uploader, refused):
    dist = dists.wheel(extra_files={"holy_grail/grail.py": b"print('Ni!')\n"})
    line = _record_line(dist, "holy_grail/grail.py")
    _replace_in_record(dist, line, "holy_grail/grail.py,md5=1B2M2Y8AsgTpgAmY7PhCfg,13")

    refused(uploader.upload(dist.form()), 400, "a hash 'md5' that a wheel may not use")


def test_wheel_whose_record_matches_is_accepted(uploader):
    dist = dists.wheel(extra_files={"holy_grail/grail.py": b"print('Ni!')\n"})

    assert uploader.upload(dist.form()).status_code == 200


def test_sdist_with_a_bad_gzip_crc_refused(uploader, refused):
    dist = dists.sdist()
    data = bytearray(dist.content)
    data[-8] ^= 1  # the gzip trailer: CRC-32, then the inflated length
    dist.content = bytes(data)

    refused(uploader.upload(dist.form()), 400, "CRC check failed")


def test_control_characters_never_reach_the_reason_phrase(uploader, refused):
    """A refusal may echo what the client sent; twine prints the reason phrase to a terminal."""
    form = dists.wheel().form(**{":action": "\x1b[2J\x1b[31mfile_upload"})

    reason = refused(uploader.upload(form), 400, "Unknown action")

    assert reason.isprintable(), reason


def test_record_hash_written_in_hex_is_accepted(uploader):
    """Some build tools write RECORD's sha256 in hex rather than base64 (gmsh 4.15.2 on PyPI)."""
    dist = dists.wheel(extra_files={"holy_grail/grail.py": b"print('Ni!')\n"})
    line = _record_line(dist, "holy_grail/grail.py")
    hex_digest = hashlib.sha256(b"print('Ni!')\n").hexdigest()
    _replace_in_record(dist, line, f"holy_grail/grail.py,sha256={hex_digest},13")

    assert uploader.upload(dist.form()).status_code == 200
