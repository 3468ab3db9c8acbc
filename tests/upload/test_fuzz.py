"""Fuzzing ``POST /legacy/`` (issue 11): mutated wheels, sdists and forms never cause a 5xx,
and nothing without a row is ever stored or served.

Each example starts from a valid distribution and its form, then breaks them the way the
attack did: byte flips, truncation, inserted NULs and bytes, wrong zip offsets and flags,
METADATA with odd headers, form fields with odd unicode, NULs, duplicates, file parts or
nothing at all. Every answer must be a 2xx, or a 4xx whose reason phrase says why; after every
example the files on disk, the files served and the ``File`` rows must agree.

CI runs the ``upload-ci`` profile (a few hundred examples). For the long run::

    BASTION_FUZZ_PROFILE=upload-fuzz .venv/bin/pytest tests/upload/test_fuzz.py -p no:cacheprovider

(add ``BASTION_DATABASE_URL=postgresql://…`` to run it on PostgreSQL, where NULs matter;
``BASTION_FUZZ_EXAMPLES=N`` runs N examples instead).
"""

import hashlib
import os
import shutil
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from bastion.packaging import storage
from bastion.packaging.models import File
from bastion.simple.readpath import ReadPath
from tests.upload import dists
from tests.upload.conftest import stored_files

settings.register_profile(
    "upload-ci",
    max_examples=300,
    deadline=None,
    # The uploader and the files directory are set up once for all examples; each example
    # rolls its rows back and empties the directory itself.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
settings.register_profile(
    "upload-fuzz", parent=settings.get_profile("upload-ci"), max_examples=10_000
)
_profile = settings.get_profile(os.environ.get("BASTION_FUZZ_PROFILE", "upload-ci"))
#: ``BASTION_FUZZ_EXAMPLES=N``: a run of a chosen length, e.g. what fits in the time at hand.
PROFILE = settings(
    _profile, max_examples=int(os.environ.get("BASTION_FUZZ_EXAMPLES", _profile.max_examples))
)

_HEADERS = [
    ("Summary", "The Holy Grail"),
    ("Author-email", "Arthur <arthur@example.com>"),
    ("Classifier", "Programming Language :: Python :: 3"),
    ("Requires-Dist", "coconut>=1.0"),
]
_EXTRA = {"holy_grail/grail.py": b"print('Ni!')\n" * 40}


def _wheel(headers=_HEADERS) -> dists.Dist:
    """A valid wheel whose METADATA has ``headers``; the form always has the valid ones."""
    return dists.wheel(headers=headers, form_headers=_HEADERS, extra_files=_EXTRA)


def _sdist(headers=_HEADERS) -> dists.Dist:
    extra = {f"holy_grail-1.0/src/{path}": data for path, data in _EXTRA.items()}
    dist = dists.sdist(headers=headers, extra_files=extra)
    dist.fields = dists.sdist(headers=_HEADERS).fields
    return dist


_FORM_FIELDS = [
    ":action", "protocol_version", "filetype", "pyversion", "md5_digest", "sha256_digest",
    "blake2_256_digest", "comment", "metadata_version", "name", "version", "summary",
    "description", "description_content_type", "author", "author_email", "license",
    "home_page", "requires_python", "classifiers", "requires_dist", "project_urls", "keywords",
    "provides_extra", "license_file", "import_names", "x_unknown",
]  # fmt: skip
_METADATA_HEADERS = [
    "Metadata-Version", "Name", "Version", "Summary", "Description", "Author", "Author-email",
    "License", "License-Expression", "License-File", "Home-page", "Project-URL", "Keywords",
    "Classifier", "Requires-Dist", "Requires-Python", "Provides-Extra", "Dynamic", "X-Odd",
]  # fmt: skip

_ODD = [
    "\x00", "grail\x00", "\x00\x00\x00", "\u202egrail", "\ufeff", "\u0130", "ǅ",
    "\U0001d524\U0001d52f",
    "\ud7ff\ue000", "1.0\x00", "UNKNOWN", "", " ", "\t\n", "\x7f\x1b[31m", "a" * 600, "é" * 300,
    "holy-grail", "1.0", "2.1", "https://example.com/\x00", "ﬁ", "٣", "\u0000\u0085\u2028",
]  # fmt: skip
#: Text the test client can encode (UTF-8 has no lone surrogates), biased towards the odd.
odd_text = st.one_of(
    st.sampled_from(_ODD),
    st.text(st.characters(exclude_categories=["Cs"]), max_size=30),
    st.builds(
        lambda a, b: a + "\x00" + b,
        st.sampled_from(_ODD),
        st.text(st.characters(exclude_categories=["Cs", "Cc"]), max_size=5),
    ),
)


# Mutations of the distribution's bytes.


def _patch_int(data: bytearray, at: int, size: int, value: int) -> None:
    if at >= 0 and at + size <= len(data):
        data[at : at + size] = (value % (1 << (8 * size))).to_bytes(size, "little")


def _central_entries(data: bytearray) -> list[int]:
    """Where the central directory entries start (or what looks like one, after mutations)."""
    entries, start = [], 0
    while (start := data.find(b"PK\x01\x02", start)) != -1:
        entries.append(start)
        start += 4
    return entries


def _zip_field(data: bytearray, which: str, entry: int, value: int) -> None:
    """Overwrite one field of the end record or of a central directory entry."""
    end = data.rfind(b"PK\x05\x06")
    centrals = _central_entries(data)
    fields = {  # name: (base, offset, size)
        "cd_offset": (end, 16, 4),
        "cd_size": (end, 12, 4),
        "cd_entries": (end, 10, 2),
        "local_offset": (None, 42, 4),
        "crc": (None, 16, 4),
        "compressed_size": (None, 20, 4),
        "file_size": (None, 24, 4),
        "name_length": (None, 28, 2),
        "extra_length": (None, 30, 2),
        "flags": (None, 8, 2),
        "method": (None, 10, 2),
    }
    base, offset, size = fields[which]
    if base is None:
        if not centrals:
            return
        base = centrals[entry % len(centrals)]
    if base >= 0:
        _patch_int(data, base + offset, size, value)


def _utf8_flag_with_bad_name(data: bytearray, entry: int) -> None:
    """Set the UTF-8 flag on one member and give its name bytes that are not UTF-8."""
    centrals = [at for at in _central_entries(data) if at + 46 < len(data)]
    if centrals:
        at = centrals[entry % len(centrals)]
        data[at + 9] |= 0x08
        data[at + 46] = 0xFF


def _mutate(content: bytes, operation: tuple) -> bytes:
    data = bytearray(content)
    kind, *args = operation
    at = args[0] % (len(data) + 1) if kind in ("flip", "truncate", "insert", "delete") else 0
    if kind == "flip" and at < len(data):
        data[at] ^= args[1]
    elif kind == "truncate":
        del data[at:]
    elif kind == "insert":
        data[at:at] = args[1]
    elif kind == "delete":
        del data[at : at + args[1]]
    elif kind == "duplicate" and data:
        at = args[0] % len(data)
        data[at:at] = data[at : at + args[1]]
    elif kind == "zip_field":
        _zip_field(data, *args)
    elif kind == "utf8_name":
        _utf8_flag_with_bad_name(data, *args)
    return bytes(data)


positions = st.integers(0, 1 << 20)
content_operations = st.one_of(
    st.tuples(st.just("flip"), positions, st.integers(1, 255)),
    st.tuples(st.just("truncate"), positions),
    st.tuples(
        st.just("insert"),
        positions,
        st.sampled_from([b"\x00", b"\x00" * 8]) | st.binary(min_size=1, max_size=16),
    ),
    st.tuples(st.just("delete"), positions, st.integers(1, 64)),
    st.tuples(st.just("duplicate"), positions, st.integers(1, 256)),
    st.tuples(
        st.just("zip_field"),
        st.sampled_from(
            [
                "cd_offset",
                "cd_size",
                "cd_entries",
                "local_offset",
                "crc",
                "compressed_size",
                "file_size",
                "name_length",
                "extra_length",
                "flags",
                "method",
            ]
        ),
        st.integers(0, 64),
        st.sampled_from([0, 1, 0xFFFF, 0xFFFFFFFF, 1 << 31]) | st.integers(0, 1 << 32),
    ),
    st.tuples(st.just("utf8_name"), st.integers(0, 64)),
)


# Mutations of the form.


def _mutate_form(form: dict, operation: tuple) -> None:
    kind, name, *args = operation
    if kind == "set":
        form[name] = args[0]
    elif kind == "insert_nul":
        value = form.get(name)
        if isinstance(value, str):
            at = args[0] % (len(value) + 1)
            form[name] = value[:at] + "\x00" + value[at:]
    elif kind == "duplicate":
        value = form.get(name, "")
        if isinstance(value, str):
            form[name] = [value, args[0]]
    elif kind == "drop":
        form.pop(name, None)
    elif kind == "file_part":
        form[name] = SimpleUploadedFile(f"{name}.txt", args[0].encode())
    elif kind == "filename":
        content = form["content"]
        at = args[1] % (len(content.name) + 1)
        renamed = content.name[:at] + args[0] + content.name[at:]
        if os.path.basename(renamed) not in ("", ".", ".."):  # what Django itself refuses to name
            form["content"] = SimpleUploadedFile(renamed, content.read())


field_names = st.sampled_from(_FORM_FIELDS)
form_operations = st.one_of(
    st.tuples(st.just("set"), field_names, odd_text),
    st.tuples(st.just("insert_nul"), field_names, st.integers(0, 100)),
    st.tuples(st.just("duplicate"), field_names, odd_text),
    st.tuples(st.just("drop"), field_names),
    st.tuples(st.just("file_part"), field_names, odd_text),
    st.tuples(st.just("filename"), st.just("content"), odd_text, st.integers(0, 100)),
)


@dataclass(frozen=True)
class Case:
    """A valid distribution and its form, and what to break in them: shown when a case fails."""

    kind: str
    extra_headers: tuple
    content_operations: tuple
    stale_digests: bool
    form_operations: tuple

    def build(self) -> tuple[bytes, dict]:
        headers = _HEADERS + list(self.extra_headers)
        dist = _wheel(headers) if self.kind == "wheel" else _sdist(headers)
        original = dist.content
        for operation in self.content_operations:
            dist.content = _mutate(dist.content, operation)
        form = dist.form()
        if self.stale_digests and dist.content != original:  # refused before reading the archive
            form.update(sha256_digest=hashlib.sha256(original).hexdigest())
            form.pop("blake2_256_digest")
        for operation in self.form_operations:
            _mutate_form(form, operation)
        return dist.content, form


cases = st.builds(
    Case,
    kind=st.sampled_from(["wheel", "sdist"]),
    extra_headers=st.lists(st.tuples(st.sampled_from(_METADATA_HEADERS), odd_text), max_size=3).map(
        tuple
    ),
    content_operations=st.lists(content_operations, max_size=3).map(tuple),
    stale_digests=st.integers(0, 9).map(lambda n: n == 0),
    form_operations=st.lists(form_operations, max_size=3).map(tuple),
)


# What may be stored and served.


def _not_found(environ, start_response):
    """Django, behind the read path, has no view for ``/files/``."""
    start_response("404 Not Found", [])
    return []


def _served(key: str) -> int:
    """The status of ``HEAD /files/<key>``, as the read path answers it."""
    statuses = []
    path = ("/files/" + key).encode("utf-8", "surrogateescape").decode("latin-1")  # WSGI's text
    environ = {"REQUEST_METHOD": "HEAD", "PATH_INFO": path}
    ReadPath(_not_found)(environ, lambda status, headers: statuses.append(int(status[:3])))
    return statuses[0]


def _assert_stored_and_served_only_with_a_row(files_dir: Path, candidate_key: str) -> None:
    on_disk = {str(path.relative_to(files_dir)) for path in stored_files()}
    rows = {key for pair in File.objects.values_list("path", "metadata_path") for key in pair}
    rows.discard("")
    assert on_disk <= rows, f"stored without a row: {sorted(on_disk - rows)}"
    assert rows <= on_disk, f"a row without its file: {sorted(rows - on_disk)}"
    for key in on_disk | {candidate_key}:
        status = _served(key)
        assert status == 404 or key in rows, f"served without a row ({status}): {key}"


def _assert_answered(response) -> None:
    status, reason = response.status_code, response.reason_phrase
    assert status < 500, reason
    if 400 <= status < 500:
        # The reason phrase is the message, in the ISO-8859-1 a status line can carry.
        assert reason != HTTPStatus(status).phrase and response.content.strip(), (status, reason)
        assert all(char.isprintable() for char in reason), reason
        reason.encode("iso-8859-1")
    else:
        assert 200 <= status < 300, (status, reason)


@pytest.mark.django_db
@given(case=cases)
@settings(parent=PROFILE)
def test_mutated_uploads_get_4xx_or_2xx_and_leave_no_orphans(uploader, files_dir, case):
    content, form = case.build()
    form_content = form.get("content")
    filename = form_content.name if isinstance(form_content, SimpleUploadedFile) else ""
    blake2_256 = hashlib.blake2b(content, digest_size=32).hexdigest()
    candidate_key = storage.key_for(blake2_256, filename)
    try:
        with transaction.atomic():  # every example starts from the same empty index
            response = uploader.upload(form)
            _assert_answered(response)
            event(
                f"{response.status_code} {response.reason_phrase[:30]}"
            )  # --hypothesis-show-statistics
            if response.status_code == 200:
                file = File.objects.get(blake2_256_digest=blake2_256)
                assert _served(file.path) == 200
            _assert_stored_and_served_only_with_a_row(files_dir, candidate_key)
            transaction.set_rollback(True)
    finally:
        shutil.rmtree(files_dir, ignore_errors=True)
