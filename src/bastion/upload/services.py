"""The legacy upload API's rules: who may upload, what is accepted, and how it is recorded.

An upload is checked completely before anything is written: the form, the gate, the filename, the
size, the digests, duplicates, the archive and the metadata inside it (only "one sdist per
release" waits for the release's lock, inside the transaction). Only then are the bytes
staged (written under a private name), and they get their public name only inside the transaction
that inserts their rows, as its last step: a refused or raced upload never publishes anything, and
a crash never leaves a row pointing at nothing (see :mod:`bastion.packaging.storage`).
Concurrent uploads of one filename are settled by the database's unique constraints: the loser's
transaction fails and it is answered exactly like a duplicate that arrived later.
"""

import base64
import binascii
import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import partial
from io import BytesIO
from pathlib import Path
from typing import IO

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from packaging.markers import Marker
from packaging.metadata import Metadata, RawMetadata
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name, canonicalize_version

from bastion import authz, statements
from bastion.accounts import ratelimit
from bastion.authz import creation
from bastion.events import services as events
from bastion.events.services import Origin
from bastion.packaging import readme, storage
from bastion.packaging import services as packaging
from bastion.packaging.models import (
    Dependency,
    File,
    FilenameReservation,
    PackageType,
    Project,
    Release,
    UploadMethod,
)
from bastion.publishing import attestations
from bastion.publishing import services as trusted_publishing
from bastion.tokens import services as tokens
from bastion.upload import admission, archives, filenames
from bastion.upload import metadata as core_metadata
from bastion.upload.errors import UploadRejected
from bastion.upload.form import UploadForm

__all__ = [
    "UploadRejected",
    "UploadResult",
    "accept_upload",
    "authenticate",
    "check_action",
    "check_may_upload",
    "file_too_large",
]

TOKEN_USERNAME = "__token__"  # noqa: S105 - the fixed username of token uploads, not a secret

#: Actions PyPI retired: pre-registration and documentation uploads.
RETIRED_ACTIONS = {
    "submit": "Project pre-registration is no longer required or supported, "
    "upload your files instead.",
    "submit_pkg_info": "Project pre-registration is no longer required or supported, "
    "upload your files instead.",
    "doc_upload": "Uploading documentation is no longer supported.",
}

_HEX_DIGEST = {
    "md5_digest": re.compile(r"[a-f0-9]{32}"),
    "sha256_digest": re.compile(r"[a-f0-9]{64}"),
    "blake2_256_digest": re.compile(r"[a-f0-9]{64}"),
}
_MAX_PYVERSION_LENGTH = 128  # File.python_version
_CONCURRENT_ATTEMPTS = 3
_FORM = "the upload form"


@dataclass(frozen=True)
class UploadResult:
    created: bool  # False when an identical file was already there (an idempotent re-upload)
    warning: str = ""  # allowed, but the uploader should know (a critical project's grace period)


@dataclass(frozen=True)
class _Digests:
    md5: str
    sha256: str
    blake2_256: str


@dataclass(frozen=True)
class _Permission:
    """The gate's one decision about an upload, and the project it was asked about.

    ``project`` is None when the upload creates the project: then the decision is the one about
    creating it (which covers the first upload to it). Recording the upload passes this along
    instead of asking again; only a project created or deleted meanwhile is a new question.
    """

    project: Project | None
    decision: authz.Decision


@dataclass(frozen=True)
class _Upload:
    """Everything checked and ready to be recorded."""

    actor: authz.Actor
    permission: _Permission
    form: UploadForm
    filename: str
    size: int
    digests: _Digests
    meta: Metadata
    raw: RawMetadata
    archive: archives.Archive
    origin: Origin
    attestations: attestations.Verified | None


def _help(anchor: str) -> str:
    return f"{settings.BASE_URL}/help/#{anchor}"


def _invalid_auth(status: int = 403) -> UploadRejected:
    return UploadRejected(
        status,
        "Invalid or non-existent authentication information. "
        f"See {_help('invalid-auth')} for more information.",
    )


def check_action(action: str) -> None:
    """Only ``file_upload`` is served; retired actions are Gone, anything else is a mistake."""
    if action == "file_upload":
        return
    if action in RETIRED_ACTIONS:
        raise UploadRejected(410, RETIRED_ACTIONS[action])
    raise UploadRejected(400, f"Unknown action '{action}'." if action else "Missing :action.")


def _secret_from(authorization: str) -> str:
    scheme, _, value = authorization.strip().partition(" ")
    if scheme.lower() == "bearer":  # uv's Credentials::Bearer
        return value.strip()
    if scheme.lower() != "basic":
        raise _invalid_auth()
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise _invalid_auth() from exc
    username, separator, secret = decoded.partition(":")
    if not separator:
        raise _invalid_auth()
    if username != TOKEN_USERNAME:
        raise UploadRejected(
            403,
            "Username/password authentication is not supported for uploads. Use an API token "
            f"as the password, with the username '{TOKEN_USERNAME}'. "
            f"See {_help('apitoken')} for more information.",
        )
    return secret


TOO_MANY_FAILED_AUTHENTICATIONS = "Too many failed authentications from your address."
TOO_MANY_UPLOADS = "Too many uploads from your account."


def _too_many(limited: ratelimit.RateLimited) -> UploadRejected:
    """429, with the wait in ``Retry-After`` and in the reason phrase twine prints."""
    return UploadRejected(429, limited.message, retry_after=limited.retry_after)


def _within(limiter: ratelimit.RateLimiter, key: str, message: str) -> None:
    try:
        limiter.check(key, message)
    except ratelimit.RateLimited as limited:
        raise _too_many(limited) from limited


def authenticate(authorization: str | None, origin: Origin) -> authz.Actor:
    """The actor behind an ``Authorization`` header: HTTP Basic ``__token__:<API token>``.

    No header at all answers 401, so clients that only send credentials on a challenge can
    retry; anything present but wrong answers 403 without saying which part was wrong, and
    counts against the address's failure limit, checked first so that guessing stops there.
    """
    if not authorization:
        raise _invalid_auth(401)
    address = origin.ip_address or "unknown"
    _within(ratelimit.TOKEN_FAILURES_PER_IP, address, TOO_MANY_FAILED_AUTHENTICATIONS)
    try:
        token = tokens.authenticate(_secret_from(authorization))
    except UploadRejected:
        ratelimit.TOKEN_FAILURES_PER_IP.hit(address)
        raise
    if token is None:
        ratelimit.TOKEN_FAILURES_PER_IP.hit(address)
        raise _invalid_auth()
    tokens.mark_used(token, origin)
    return authz.Actor(user=token.user, token=token, publisher=token.publisher)


def check_may_upload(actor: authz.Actor) -> None:
    """What the gate can decide before the body is read: the account and the token.

    The project is named in the body, so the gate is asked again, about it, once that is read.
    Refusing here means a client without the right to upload cannot make the server read (and
    wait for) a body at all.
    """
    authz.require(actor, authz.Action.UPLOAD, None)


def _check_form(form: UploadForm) -> None:
    if form.protocol_version != "1":
        raise UploadRejected(400, "Unknown protocol version.")
    if form.filetype not in PackageType.values:
        raise UploadRejected(400, "Invalid value for filetype. Error: Use a known file type.")
    if form.filetype == PackageType.SDIST:
        if form.pyversion not in ("", "source"):
            raise UploadRejected(
                400,
                "Invalid value for pyversion. Error: Use 'source' as Python version for an sdist.",
            )
    elif not form.pyversion:
        raise UploadRejected(
            400,
            "Invalid value for pyversion. Error: "
            "Python version is required for binary distribution uploads.",
        )
    if len(form.pyversion) > _MAX_PYVERSION_LENGTH:
        raise UploadRejected(400, "Invalid value for pyversion. Error: It is too long.")
    given = {name: getattr(form, name) for name in _HEX_DIGEST if getattr(form, name)}
    if not given:
        raise UploadRejected(400, "Include at least one message digest.")
    for name, value in given.items():
        if not _HEX_DIGEST[name].fullmatch(value):
            raise UploadRejected(
                400, f"Invalid value for {name}. Error: Use a valid, hex-encoded message digest."
            )
    if not packaging.is_valid_project_name(form.name):
        raise UploadRejected(
            400,
            f"'{form.name}' is an invalid value for Name. Error: Start and end with a letter or "
            "numeral containing only ASCII numeric and '.', '_' and '-'. See "
            "https://packaging.python.org/specifications/core-metadata for more information.",
        )


def _check_permission(actor: authz.Actor, project: Project | None, name: str) -> _Permission:
    """Ask the gate once: upload to the existing project, or create a new one under ``name``."""
    if project is not None:
        return _Permission(project, authz.require(actor, authz.Action.UPLOAD, project))
    try:
        return _Permission(None, creation.check_new_project(actor, name))
    except packaging.PackagingError as exc:
        raise UploadRejected(exc.status, exc.message) from exc


def _megabytes(size: int) -> str:
    return f"{size / 1024**2:g}"


def file_too_large(name: str) -> UploadRejected:
    return UploadRejected(
        400,
        f"File too large. Limit for project '{name}' is "
        f"{_megabytes(settings.MAX_UPLOAD_BYTES)} MB. "
        f"See {_help('file-size-limit')} for more information.",
    )


def _digest(content: IO[bytes]) -> _Digests:
    md5, sha256, blake2 = (
        hashlib.md5(usedforsecurity=False),
        hashlib.sha256(),
        hashlib.blake2b(digest_size=32),
    )
    content.seek(0)
    while chunk := content.read(1024 * 1024):
        md5.update(chunk)
        sha256.update(chunk)
        blake2.update(chunk)
    content.seek(0)
    return _Digests(md5.hexdigest(), sha256.hexdigest(), blake2.hexdigest())


def _check_digests(form: UploadForm, digests: _Digests) -> None:
    supplied = [
        (form.md5_digest, digests.md5),
        (form.sha256_digest, digests.sha256),
        (form.blake2_256_digest, digests.blake2_256),
    ]
    if any(given and given != actual for given, actual in supplied):
        raise UploadRejected(
            400, "The digest supplied does not match a digest calculated from the uploaded file."
        )


def _name_or_bytes_sql() -> str:
    """One statement for :func:`_existing`: the files with this name or these bytes, then the
    name's reservation (a row with NULL digests).

    Every upload asks it, and twice on a lost race. The two ORM queries it replaced cost about
    a millisecond of CPU here (compiling them, and building a file with its release and
    project), this about 20 µs. It is built from the models' own table and column names, so it
    follows them, and it is standard SQL, so SQLite and PostgreSQL run it alike."""
    name, sha256, blake2 = (
        statements.column(connection, File, field)
        for field in ("filename", "sha256_digest", "blake2_256_digest")
    )
    reserved = statements.column(connection, FilenameReservation, "filename")
    return (
        f"SELECT {name}, {sha256}, {blake2} FROM {statements.table(connection, File)} "  # noqa: S608 - names from _meta
        f"WHERE {name} = %s OR {blake2} = %s "
        f"UNION ALL SELECT {reserved}, NULL, NULL "
        f"FROM {statements.table(connection, FilenameReservation)} WHERE {reserved} = %s"
    )


def _existing(filename: str, digests: _Digests) -> bool:
    """Whether this very file (its name and its bytes) is already here.

    Anything else sharing the name or the bytes is refused: filenames and contents are never
    reused, and a deleted file's name stays reserved. The message must keep starting with
    "File already exists": clients look for it.
    """
    with connection.cursor() as cursor:
        cursor.execute(_name_or_bytes_sql(), [filename, digests.blake2_256, filename])
        rows = cursor.fetchall()
    files = [row for row in rows if row[1] is not None]
    if files:
        # Two rows (one with the name, one with the bytes) can never both be this file.
        if files == [(filename, digests.sha256, digests.blake2_256)]:
            return True
        raise UploadRejected(
            400,
            f"File already exists ('{filename}', with blake2_256 hash '{digests.blake2_256}'). "
            f"See {_help('file-name-reuse')} for more information.",
        )
    if rows:
        raise UploadRejected(
            400,
            "This filename was previously used by a file that has since been deleted. "
            f"Use a different version. See {_help('file-name-reuse')} for more information.",
        )
    return False


def _check_filename_form(filename: str, filetype: str, name: str, version) -> None:
    if filetype == PackageType.SDIST:
        filenames.check_sdist(filename, name, version)
    else:
        filenames.check_wheel(filename, name, version)


def _read_archive(filename: str, filetype: str, content: IO[bytes], size: int) -> archives.Archive:
    if filetype == PackageType.SDIST:
        return archives.read_sdist(content, size, top=filename.removesuffix(".tar.gz"))
    name, version = filename.split("-")[:2]
    return archives.read_wheel(content, size, name, version)


def _check_same_distribution(form_meta: Metadata, meta: Metadata, source: str) -> None:
    """The form and the archive must describe the same project and version."""
    if canonicalize_name(meta.name) != canonicalize_name(form_meta.name):
        raise UploadRejected(
            400,
            f"The name in {source} ('{meta.name}') does not match the name in the upload form "
            f"('{form_meta.name}').",
        )
    if meta.version != form_meta.version:
        raise UploadRejected(
            400,
            f"The version in {source} ('{meta.version}') does not match the version in the upload "
            f"form ('{form_meta.version}').",
        )


def _check_license_files(meta: Metadata, archive: archives.Archive, filename: str) -> None:
    for path in meta.license_files or []:
        if not archive.has_license_file(path):
            raise UploadRejected(
                400,
                f"License-File {path} does not exist in distribution file {filename} "
                f"at {archive.license_dir}{path}.",
            )


def _check_description(meta: Metadata) -> None:
    """Refuse a description that does not render as the content type it declares.

    One that declares none is reStructuredText if it renders as that and plain text otherwise
    (core metadata's rule), so it is never refused: most releases from before Metadata 2.1
    declare nothing, and many of them were never meant as reStructuredText.
    """
    content_type = meta.description_content_type
    if content_type and not readme.renders(meta.description or "", content_type):
        raise UploadRejected(
            400,
            f"The description failed to render for '{content_type}'. "
            f"See {_help('description-content-type')} for more information.",
        )


def accept_upload(
    *, actor: authz.Actor, form: UploadForm, content: UploadedFile, origin: Origin
) -> UploadResult:
    """Validate, store by content hash, then commit the rows; raise :class:`UploadRejected`.

    The checks and the commit run in the process's checking turn, the staging between them
    outside it: writing and ``fsync``-ing the bytes waits on the disk, and a sibling upload can
    use the interpreter meanwhile.
    """
    with admission.checking_turn():
        checked = _check_upload(actor, form, content, origin)
    if isinstance(checked, UploadResult):
        return checked
    staged = _stage(checked, content)
    try:
        with admission.checking_turn():
            result = _commit(checked, staged)
        return replace(result, warning=checked.permission.decision.warning)
    finally:
        staged.discard()  # whatever was not published: a refusal, a lost race, a duplicate


def _check_upload(
    actor: authz.Actor, form: UploadForm, content: UploadedFile, origin: Origin
) -> _Upload | UploadResult:
    """The upload checked completely and ready to stage, or the answer to an identical re-upload."""
    try:  # every attempt the limit lets through counts: refused ones cost work too
        ratelimit.UPLOADS_PER_ACCOUNT.attempt(str(actor.account.pk), TOO_MANY_UPLOADS)
    except ratelimit.RateLimited as limited:
        raise _too_many(limited) from limited
    _check_form(form)
    form_meta, _ = core_metadata.validate(form.metadata, source=_FORM)
    project = packaging.get_project(form_meta.name)
    actor = trusted_publishing.publishing_to(actor, project)
    permission = _check_permission(actor, project, form_meta.name)

    filename = content.name or ""
    filenames.check_safe(filename, form.filetype)
    size = content.size  # Django's upload handlers always count the bytes; refuse if not
    if size is None or size > settings.MAX_UPLOAD_BYTES:
        raise file_too_large(form_meta.name)
    _check_filename_form(filename, form.filetype, form_meta.name, form_meta.version)

    digests = _digest(content)
    _check_digests(form, digests)
    verified = _check_attestations(actor, form.attestations, filename, digests)
    if _existing(filename, digests):
        return UploadResult(created=False, warning=permission.decision.warning)
    if permission.project is None:  # refuse before storing; create_project checks and counts
        _within_project_creation_limits(actor, origin)

    archive = _read_archive(filename, form.filetype, content, size)
    meta, raw = core_metadata.parse_file(archive.metadata, source=archive.metadata_path)
    _check_same_distribution(form_meta, meta, archive.metadata_path)
    _check_filename_form(filename, form.filetype, meta.name, meta.version)
    _check_license_files(meta, archive, filename)
    _check_description(meta)
    return _Upload(
        actor, permission, form, filename, size, digests, meta, raw, archive, origin, verified
    )


def _check_attestations(
    actor: authz.Actor, field: str, filename: str, digests: _Digests
) -> attestations.Verified | None:
    """Verify the PEP 740 attestations sent with the file, if any, against its publisher."""
    if not field:
        return None
    token = actor.token
    try:
        return attestations.verify(
            field,
            publisher=actor.publisher,
            claims=trusted_publishing.claims_of(token) if actor.publisher and token else {},
            filename=filename,
            sha256=digests.sha256,
        )
    except attestations.AttestationRefused as refused:
        raise UploadRejected(400, refused.message) from refused


def _within_project_creation_limits(actor: authz.Actor, origin: Origin) -> None:
    try:
        creation.check_project_creation_limits(actor.user, origin)
    except ratelimit.RateLimited as limited:
        raise _too_many(limited) from limited


def _storage_key(upload: _Upload) -> str:
    return storage.key_for(upload.digests.blake2_256, upload.filename)


@dataclass
class _Staged:
    """An upload's bytes (and a wheel's METADATA) under private names, by their future keys."""

    paths: dict[str, Path]
    published: dict[str, object] = field(default_factory=dict)  # key: storage.publish's token

    def publish(self) -> None:
        for key, path in self.paths.items():
            self.published[key] = storage.publish(path, key)

    def withdraw(self) -> None:
        for key, token in self.published.items():
            storage.withdraw(key, token, self.paths[key])
        self.published.clear()

    def discard(self) -> None:
        """Remove what is left in staging (object storage copies published bytes)."""
        for path in self.paths.values():
            path.unlink(missing_ok=True)


def _stage(upload: _Upload, content: IO[bytes]) -> _Staged:
    """Write the bytes, and a wheel's METADATA, where nothing serves them yet."""
    key = _storage_key(upload)
    if upload.form.filetype != PackageType.BDIST_WHEEL:
        return _Staged({key: storage.stage(content)})
    paths = storage.stage_all([content, BytesIO(upload.archive.metadata)])
    return _Staged(dict(zip([key, key + storage.METADATA_SUFFIX], paths, strict=True)))


def _commit(upload: _Upload, staged: _Staged) -> UploadResult:
    """Insert the rows, publish the bytes, then journal, as the transaction's last steps.

    Journalling holds a lock until the commit (serials follow commit order, see
    ``packaging.services``), so it comes after the copy into storage, never before. A
    concurrent upload that won a unique constraint decides the answer. Bytes published by a
    transaction that then failed are withdrawn, so they never stay public without their row.
    """
    for _ in range(_CONCURRENT_ATTEMPTS):
        try:
            with transaction.atomic():
                journal = _record(upload)
                staged.publish()
                journal()
            return UploadResult(created=True)
        except IntegrityError:
            staged.withdraw()
            if _existing(upload.filename, upload.digests):
                return UploadResult(created=False)
            # Otherwise the project or the release was created meanwhile: record into it.
        except BaseException:
            staged.withdraw()
            raise
    raise UploadRejected(
        409, "The upload collided with concurrent changes to this project. Try again."
    )


def _locked_project_sql() -> str:
    """The project's key and status by its (unique) name, its row locked for the transaction.
    Written out, as the three statements below are (see :mod:`bastion.statements`)."""
    key, status, names = (
        statements.column(connection, Project, name) for name in ("id", "status", "normalized_name")
    )
    return (
        f"SELECT {key}, {status} FROM {statements.table(connection, Project)} "  # noqa: S608 - names from _meta
        f"WHERE {names} = %s{statements.for_update(connection)}"
    )


def _project_for(upload: _Upload) -> tuple[Project, bool]:
    """The project to record into, and whether this upload created it (with the uploader as
    Owner) as its first upload.

    The gate's decision from before the archive was read stands, unless the project appeared
    (a concurrent upload created it), vanished or changed its status (an administrator
    quarantined it) meanwhile: that is another question, asked now. So the status the project
    has when the upload commits is one the gate accepted, read under the row's lock.
    """
    name = upload.meta.name
    found = statements.fetch_one(connection, _locked_project_sql(), [canonicalize_name(name)])
    decided = upload.permission.project
    if decided is not None and (decided.pk, decided.status) == found:
        return decided, False  # locked now, and what the gate decided about
    if found is None:
        checked = upload.permission.decision if decided is None else None
        try:
            created = creation.create_project(
                actor=upload.actor,
                name=name,
                origin=upload.origin,
                checked=checked,
                journalled=False,  # with the file's entries, as the upload's last step
            )
        except packaging.PackagingError as exc:
            raise UploadRejected(exc.status, exc.message) from exc
        except ratelimit.RateLimited as limited:  # a concurrent upload created projects meanwhile
            raise _too_many(limited) from limited
        return created, True
    project = Project.objects.get(pk=found[0])
    authz.require(upload.actor, authz.Action.UPLOAD, project)
    return project, False


def _release_fields(meta: Metadata, raw: RawMetadata) -> dict:
    """The release's copy of the archive's core metadata, as the JSON API will show it."""
    expression = meta.license_expression
    return {
        "metadata_version": meta.metadata_version,
        "summary": raw.get("summary", ""),
        "description": raw.get("description", ""),
        "description_content_type": raw.get("description_content_type", ""),
        "keywords": ", ".join(raw.get("keywords", [])),
        "home_page": raw.get("home_page", ""),
        "download_url": raw.get("download_url", ""),
        "author": raw.get("author", ""),
        "author_email": raw.get("author_email", ""),
        "maintainer": raw.get("maintainer", ""),
        "maintainer_email": raw.get("maintainer_email", ""),
        "license": raw.get("license", ""),
        "license_expression": str(expression) if expression else "",
        "license_files": raw.get("license_files", []),
        "classifiers": raw.get("classifiers", []),
        "platform": raw.get("platforms", []),
        "supported_platform": raw.get("supported_platforms", []),
        "requires_python": raw.get("requires_python", ""),
        "requires_dist": raw.get("requires_dist", []),
        "provides_dist": raw.get("provides_dist", []),
        "obsoletes_dist": raw.get("obsoletes_dist", []),
        "requires_external": raw.get("requires_external", []),
        "provides_extra": list(meta.provides_extra or []),
        "project_urls": raw.get("project_urls", {}),
        "dynamic": list(meta.dynamic or []),
        "import_names": raw.get("import_names", []),
        "import_namespaces": raw.get("import_namespaces", []),
    }


_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")
_EXTRA = re.compile(r"\bextra\b")


def _mentions_extra(marker: Marker | None) -> bool:
    """Whether a marker names the ``extra`` variable (quoted values that merely say it don't)."""
    return marker is not None and bool(_EXTRA.search(_QUOTED.sub("", str(marker))))


def _dependency(release: Release, requirement: Requirement) -> Dependency:
    return Dependency(
        release=release,
        name=canonicalize_name(requirement.name),
        specifier=str(requirement.specifier),
        marker=str(requirement.marker) if requirement.marker else "",
        extra_only=_mentions_extra(requirement.marker),
    )


@dataclass(frozen=True)
class _ReleaseRow:
    """What recording a file needs of its release: its key, its version, whether it is new."""

    pk: int
    version: str
    created: bool


def _locked_release_sql() -> str:
    """The release's key, its version and whether it has an sdist, its row locked."""

    def column(model: type[Release] | type[File], name: str) -> str:
        return statements.column(connection, model, name)

    releases, files = statements.table(connection, Release), statements.table(connection, File)
    key = f"{releases}.{column(Release, 'id')}"
    sdist = (
        f"SELECT 1 FROM {files} WHERE {files}.{column(File, 'release')} = {key}"  # noqa: S608 - names from _meta
        f" AND {files}.{column(File, 'packagetype')} = %s"
    )
    return (
        f"SELECT {key}, {releases}.{column(Release, 'version')}, EXISTS ({sdist}) "  # noqa: S608 - names from _meta
        f"FROM {releases} WHERE {releases}.{column(Release, 'project')} = %s"
        f" AND {releases}.{column(Release, 'canonical_version')} = %s"
        f"{statements.for_update(connection)}"
    )


def _existing_release(upload: _Upload, project: Project, canonical: str) -> _ReleaseRow | None:
    """The release of this version, locked, if there is one.

    An sdist is refused here, under the release's lock, when the release has one already: the
    one place that checks, so two sdists racing for a release cannot both get in.
    """
    row = statements.fetch_one(
        connection, _locked_release_sql(), [PackageType.SDIST, project.pk, canonical]
    )
    if row is None:  # (project, canonical version) is unique: one row or none
        return None
    pk, version, has_sdist = row
    if has_sdist and upload.form.filetype == PackageType.SDIST:
        raise UploadRejected(400, "Only one sdist may be uploaded per release.")
    return _ReleaseRow(pk, version, created=False)


def _release_for(upload: _Upload, project: Project, new_project: bool) -> _ReleaseRow:
    """The release of this version, created by this upload if it is the first file (always, in
    a project this upload created). The first file's metadata creates it and is never updated;
    the caller journals the new release."""
    canonical = canonicalize_version(upload.meta.version)
    if not new_project and (existing := _existing_release(upload, project, canonical)):
        return existing
    release = Release.objects.create(
        project=project,
        version=str(upload.meta.version),
        canonical_version=canonical,
        is_prerelease=upload.meta.version.is_prerelease,
        uploader=upload.actor.user,
        **_release_fields(upload.meta, upload.raw),
    )
    Dependency.objects.bulk_create(
        [_dependency(release, req) for req in upload.meta.requires_dist or []]
    )
    return _ReleaseRow(release.pk, release.version, created=True)


def _method_of(actor: authz.Actor) -> UploadMethod:
    """Every upload came with an API token (:func:`authenticate`): a publisher's or a person's."""
    return UploadMethod.TRUSTED_PUBLISHER if actor.publisher is not None else UploadMethod.API_TOKEN


def _attestation_details(upload: _Upload) -> dict:
    """What an upload's security event adds when it carried verified attestations."""
    if upload.attestations is None:
        return {}
    return {"attestations": len(upload.attestations.attestations)}


def _record(upload: _Upload) -> Callable[[], int]:
    """The rows of one upload, and what journals them (the caller's last step before its
    commit); runs inside a transaction that the caller may retry."""
    project, new_project = _project_for(upload)
    release = _release_for(upload, project, new_project)
    is_wheel = upload.form.filetype == PackageType.BDIST_WHEEL
    key = _storage_key(upload)
    file = File.objects.create(
        release_id=release.pk,
        filename=upload.filename,
        packagetype=upload.form.filetype,
        python_version=upload.form.pyversion or "source",
        requires_python=upload.raw.get("requires_python", ""),
        size=upload.size,
        sha256_digest=upload.digests.sha256,
        blake2_256_digest=upload.digests.blake2_256,
        md5_digest=upload.digests.md5,
        path=key,
        upload_time=timezone.now(),
        comment_text=upload.form.comment,
        metadata_sha256_digest=(
            hashlib.sha256(upload.archive.metadata).hexdigest() if is_wheel else ""
        ),
        metadata_path=key + ".metadata" if is_wheel else "",
        uploaded_via=_method_of(upload.actor),
    )
    FilenameReservation.objects.create(
        filename=upload.filename, project_name=project.normalized_name
    )
    if upload.attestations is not None:
        attestations.record(upload.attestations, file)
    user = upload.actor.user
    kind = "source" if upload.form.filetype == PackageType.SDIST else upload.form.pyversion
    added = (f"add {kind} file {upload.filename}", release.version)
    changes = creation.creation_entries(upload.actor) if new_project else []
    changes += [("new release", release.version), added] if release.created else [added]
    events.record(
        "file:upload",
        user=user,
        project=project,
        origin=upload.origin,
        filename=upload.filename,
        version=release.version,
        token=upload.actor.token.name if upload.actor.token else None,
        **trusted_publishing.upload_details(upload.actor),
        **_attestation_details(upload),
    )
    return partial(packaging.journal_all, project, changes, user=user, status=project.status)
