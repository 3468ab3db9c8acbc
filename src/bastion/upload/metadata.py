"""Core metadata validation: ``packaging.metadata`` first, then the rules PyPI adds on top.

The same rules apply to the form an upload client sends and to the ``METADATA``/``PKG-INFO``
inside the archive; the archive's copy is the one the index keeps.
"""

import email.parser
import email.policy
import email.utils
import re
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from packaging.metadata import InvalidMetadata, Metadata, RawMetadata, parse_email
from packaging.requirements import InvalidRequirement, Requirement
from trove_classifiers import classifiers as known_classifiers
from trove_classifiers import deprecated_classifiers

from bastion.upload.errors import UploadRejected

#: PyPI's list: 2.0 was never a real metadata version (old bdist_wheel claimed it) and 2.6+ is
#: unknown to the clients that will read these files back.
SUPPORTED_METADATA_VERSIONS = ("1.0", "1.1", "1.2", "2.1", "2.2", "2.3", "2.4", "2.5")

MAX_SUMMARY_LENGTH = 512
MAX_PROJECT_URL_LABEL_LENGTH = 32

#: Every core metadata header, lower-cased as ``parse_email`` reports unparsed ones.
KNOWN_HEADERS = frozenset(
    {
        "metadata-version", "name", "version", "dynamic", "platform", "supported-platform",
        "summary", "description", "description-content-type", "keywords", "home-page",
        "download-url", "author", "author-email", "maintainer", "maintainer-email", "license",
        "license-expression", "license-file", "classifier", "requires-dist", "requires-python",
        "requires-external", "project-url", "provides-extra", "provides-dist", "obsoletes-dist",
        "requires", "provides", "obsoletes", "import-name", "import-namespace",
    }
)  # fmt: skip

#: Fields checked first, because every other message is noise when these are wrong.
_FIRST_FIELDS = ("metadata-version", "name", "version")

_SPEC_URL = "https://packaging.python.org/specifications/core-metadata"

#: How a multi-line ``Description`` header goes on: seven spaces and a pipe, as the core metadata
#: spec says (PEP 345) and distlib writes, or the eight spaces of distutils' and setuptools'
#: ``rfc822_escape``. The two cannot be confused: an eighth character is a pipe or a space.
_PIPE_CONTINUATION = " " * 7 + "|"
_SETUPTOOLS_CONTINUATION = " " * 8


def _tolerate(raw: RawMetadata) -> RawMetadata:
    """Forgive what real tools write and PyPI forgives: ``UNKNOWN`` values, and setuptools'
    ``License-File`` in metadata older than 2.4 (twine drops it for the same reason)."""
    tolerated: dict = {}
    for key, value in raw.items():
        if isinstance(value, str):
            if value.strip() != "UNKNOWN":
                tolerated[key] = value
        elif isinstance(value, list):
            kept = [item for item in value if item.strip() != "UNKNOWN"]
            if kept:
                tolerated[key] = kept
        else:
            tolerated[key] = value
    version = tolerated.get("metadata_version", "")
    if version in SUPPORTED_METADATA_VERSIONS and version < "2.4":
        tolerated.pop("license_files", None)
    return tolerated  # type: ignore[return-value]


def _is_url(value: str) -> bool:
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def _email_problems(field: str, value: str) -> list[InvalidMetadata]:
    problems = []
    for _, address in email.utils.getaddresses([value]):
        if not address:
            continue
        try:
            validate_email(address)
        except ValidationError:
            problems.append(InvalidMetadata(field, f"{address!r} is not a valid email address"))
    return problems


def _direct_reference_problems(field: str, requirements: list) -> list[InvalidMetadata]:
    problems = []
    for requirement in requirements:
        try:
            parsed = (
                requirement if isinstance(requirement, Requirement) else Requirement(requirement)
            )
        except InvalidRequirement as exc:
            problems.append(InvalidMetadata(field, f"{requirement!r} is invalid: {exc}"))
            continue
        if parsed.url is not None:
            problems.append(
                InvalidMetadata(field, f"Can't have direct dependency: {str(parsed)!r}")
            )
    return problems


def _classifier_problems(classifiers: list[str]) -> list[InvalidMetadata]:
    problems = []
    for classifier in classifiers:
        if classifier in deprecated_classifiers:
            replacement = deprecated_classifiers[classifier]
            hint = f", use one of {replacement} instead" if replacement else ""
            problems.append(
                InvalidMetadata("classifier", f"{classifier!r} has been deprecated{hint}")
            )
        elif classifier not in known_classifiers:
            problems.append(
                InvalidMetadata("classifier", f"{classifier!r} is not a valid classifier")
            )
    return problems


def _index_rules(meta: Metadata) -> list[InvalidMetadata]:
    """What PyPI checks beyond the core metadata spec."""
    problems: list[InvalidMetadata] = []
    if meta.metadata_version not in SUPPORTED_METADATA_VERSIONS:
        problems.append(
            InvalidMetadata(
                "metadata-version", f"{meta.metadata_version!r} is not a valid metadata version"
            )
        )
    if meta.version.local:
        problems.append(
            InvalidMetadata(
                "version", f"The use of local versions in '{meta.version}' is not allowed"
            )
        )
    if meta.summary and len(meta.summary) > MAX_SUMMARY_LENGTH:
        problems.append(
            InvalidMetadata("summary", f"must be {MAX_SUMMARY_LENGTH} characters or less")
        )
    if meta.license is not None and meta.license_expression is not None:
        problems.append(
            InvalidMetadata(
                "license", "License and License-Expression are mutually exclusive (PEP 639)"
            )
        )
    emails = (("author-email", meta.author_email), ("maintainer-email", meta.maintainer_email))
    for field, value in emails:
        if value:
            problems.extend(_email_problems(field, value))
    for field, value in (("home-page", meta.home_page), ("download-url", meta.download_url)):
        if value and not _is_url(value):
            problems.append(InvalidMetadata(field, f"{value!r} is not a valid url"))
    for label, url in (meta.project_urls or {}).items():
        if not label:
            problems.append(InvalidMetadata("project-url", "Must have a label"))
        elif len(label) > MAX_PROJECT_URL_LABEL_LENGTH:
            problems.append(
                InvalidMetadata(
                    "project-url",
                    f"{label!r} must be {MAX_PROJECT_URL_LABEL_LENGTH} characters or less",
                )
            )
        elif not _is_url(url):
            problems.append(InvalidMetadata("project-url", f"{url!r} is not a valid url"))
    problems.extend(_classifier_problems(meta.classifiers or []))
    problems.extend(_direct_reference_problems("requires-dist", meta.requires_dist or []))
    problems.extend(_direct_reference_problems("provides-dist", meta.provides_dist or []))
    problems.extend(_direct_reference_problems("obsoletes-dist", meta.obsoletes_dist or []))
    return problems


def _describe(problem: InvalidMetadata) -> str:
    cause = problem.__cause__
    return f"{problem} ({cause})" if cause is not None else str(problem)


def _rejection(problems: list[InvalidMetadata], source: str) -> UploadRejected:
    """One message for the most important field, as PyPI words it."""
    by_field: dict[str, list[InvalidMetadata]] = {}
    for problem in problems:
        by_field.setdefault(problem.field, []).append(problem)
    field = next((f for f in _FIRST_FIELDS if f in by_field), sorted(by_field)[0])
    details = "; ".join(_describe(problem) for problem in by_field[field])
    return UploadRejected(
        400,
        f"Invalid value for {field} in {source}. Error: {details}. "
        f"See {_SPEC_URL} for more information.",
    )


def _flatten(group: BaseExceptionGroup) -> list[InvalidMetadata]:
    problems: list[InvalidMetadata] = []
    for exc in group.exceptions:
        if isinstance(exc, BaseExceptionGroup):
            problems.extend(_flatten(exc))
        elif isinstance(exc, InvalidMetadata):
            problems.append(exc)
        else:
            problems.append(InvalidMetadata("metadata", str(exc)))
    return problems


def validate(raw: RawMetadata, *, source: str) -> tuple[Metadata, RawMetadata]:
    """Validated metadata and the raw fields it was built from (what the index stores), or
    :class:`UploadRejected` naming the field and ``source``."""
    tolerated = _tolerate(raw)
    try:
        meta = Metadata.from_raw(tolerated)
    except BaseExceptionGroup as group:
        raise _rejection(_flatten(group), source) from group
    problems = _index_rules(meta)
    if problems:
        raise _rejection(problems, source)
    return meta, tolerated


def unfold_description(value: str) -> str:
    """A ``Description`` header's text as its author wrote it.

    Metadata older than 2.1 (and much of 2.1, from setuptools before 2022) puts the description
    in a header, indenting every line after the first so an RFC 822 parser reads it as one field.
    ``packaging.metadata.parse_email`` keeps that indentation, and twine sends it as it is, so
    reStructuredText would read the whole description as one indented block (and fail on its
    directives). The indentation goes only when every continuation line carries it: a value that
    was never folded that way stays as it is.
    """
    first, *rest = re.split(r"\r\n|\r|\n", value)
    if not rest:
        return value
    written = [line for line in rest if line.strip()]
    for prefix in (_PIPE_CONTINUATION, _SETUPTOOLS_CONTINUATION):
        if all(line.startswith(prefix) for line in written):
            return "\n".join([first, *(line[len(prefix) :] for line in rest)])
    return value


def _has_description_header(data: bytes) -> bool:
    """Whether the description is a header (to unfold) rather than the message body (verbatim)."""
    headers = email.parser.BytesHeaderParser(policy=email.policy.compat32).parsebytes(data)
    return "Description" in headers


def parse_file(data: bytes, *, source: str) -> tuple[Metadata, RawMetadata]:
    """Validate a ``METADATA``/``PKG-INFO`` file; returns the metadata and its raw fields.

    Headers no spec defines are ignored, as PyPI ignores unknown form fields; a known header
    that cannot be read (a single-use field given twice, say) is an error, and so is a NUL byte
    anywhere: PostgreSQL cannot store one in text, and no field needs it. A description folded
    into its header is unfolded, so the index keeps (and renders) the author's text.
    """
    if b"\x00" in data:
        raise UploadRejected(
            400, f"Invalid distribution file. {source} contains a NUL byte (\\x00)."
        )
    raw, unparsed = parse_email(data)
    unreadable = sorted(set(unparsed) & KNOWN_HEADERS)
    if unreadable:
        raise _rejection(
            [InvalidMetadata(header, f"{header!r} has invalid data") for header in unreadable],
            source,
        )
    if "description" in raw and _has_description_header(data):
        raw["description"] = unfold_description(raw["description"])
    return validate(raw, source=source)
