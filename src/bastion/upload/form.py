"""The legacy upload form as twine, uv, poetry, pdm, hatch and flit send it.

The protocol was never standardised, so each client spells a few fields its own way. This module
absorbs those differences once: repeated keys for multi-use fields, plural and singular aliases,
empty strings and ``UNKNOWN`` meaning "absent", and a list where a single value was meant. The
result is an :class:`UploadForm` holding a ``packaging.metadata.RawMetadata`` dict, so the rest of
the upload code validates form metadata exactly like the metadata inside the archive.
"""

from dataclasses import dataclass, field

from django.core.files.uploadedfile import UploadedFile
from django.http import QueryDict
from django.utils.datastructures import MultiValueDict
from packaging.metadata import RawMetadata

from bastion.upload.errors import UploadRejected

#: Single-use metadata fields: form field name -> RawMetadata key.
SINGLE_FIELDS: dict[str, str] = {
    "metadata_version": "metadata_version",
    "name": "name",
    "version": "version",
    "summary": "summary",
    "description": "description",
    "description_content_type": "description_content_type",
    "home_page": "home_page",
    "download_url": "download_url",
    "author": "author",
    "author_email": "author_email",
    "maintainer": "maintainer",
    "maintainer_email": "maintainer_email",
    "license": "license",
    "license_expression": "license_expression",
    "requires_python": "requires_python",
}

#: Multi-use metadata fields, including every spelling some client sends.
LIST_FIELDS: dict[str, str] = {
    "platform": "platforms",
    "supported_platform": "supported_platforms",
    "license_file": "license_files",
    "classifiers": "classifiers",
    "classifier": "classifiers",  # hatch's header name, before pluralising
    "requires": "requires",
    "provides": "provides",
    "obsoletes": "obsoletes",
    "requires_dist": "requires_dist",
    "provides_dist": "provides_dist",
    "obsoletes_dist": "obsoletes_dist",
    "requires_external": "requires_external",
    "provides_extra": "provides_extra",
    "provides_extras": "provides_extra",  # pdm
    "dynamic": "dynamic",
    "import_name": "import_names",  # PyPI's and hatch's spelling
    "import_names": "import_names",  # uv and poetry
    "import_namespace": "import_namespaces",
    "import_namespaces": "import_namespaces",
}

PROJECT_URL_FIELDS = ("project_urls", "project_url")
KEYWORDS_FIELD = "keywords"

#: Control fields; none of them may arrive as a file part.
CONTROL_FIELDS = (
    ":action",
    "protocol_version",
    "filetype",
    "pyversion",
    "md5_digest",
    "sha256_digest",
    "blake2_256_digest",
    "comment",
    "attestations",
)

#: Values that mean "not given". PyPI drops ``UNKNOWN``, which old setuptools wrote everywhere.
ABSENT = frozenset({"", "UNKNOWN"})


@dataclass
class UploadForm:
    action: str
    protocol_version: str
    filetype: str
    pyversion: str
    md5_digest: str
    sha256_digest: str
    blake2_256_digest: str
    comment: str
    attestations: str = ""  # PEP 740: a JSON array of attestation objects, checked on upload
    metadata: RawMetadata = field(default_factory=dict)  # type: ignore[assignment]

    @property
    def name(self) -> str:
        return self.metadata.get("name", "")

    @property
    def version(self) -> str:
        return self.metadata.get("version", "")


def _present(values: list[str]) -> list[str]:
    return [value for value in values if value.strip() not in ABSENT]


def _single(data: MultiValueDict, form_name: str) -> str | None:
    """One value for a single-use field; several identical values (pdm's lists) count as one."""
    values = list(dict.fromkeys(_present(data.getlist(form_name))))
    if len(values) > 1:
        raise UploadRejected(400, f"'{form_name}' must be given once, not {len(values)} times.")
    return values[0] if values else None


def _project_urls(values: list[str]) -> dict[str, str]:
    urls: dict[str, str] = {}
    for value in values:
        label, _, url = (part.strip() for part in value.partition(","))
        if label in urls:
            raise UploadRejected(400, f"Project-URL label '{label}' is given more than once.")
        urls[label] = url
    return urls


def parse_metadata(data: MultiValueDict) -> RawMetadata:
    """Core metadata from the form, keyed like ``RawMetadata``; unknown fields are ignored."""
    raw: dict = {}
    for form_name, raw_name in SINGLE_FIELDS.items():
        value = _single(data, form_name)
        if value is not None:
            raw[raw_name] = value
    for form_name, raw_name in LIST_FIELDS.items():
        values = _present(data.getlist(form_name))
        if values:
            raw.setdefault(raw_name, []).extend(values)
    keywords = _single(data, KEYWORDS_FIELD)
    if keywords is not None:
        raw["keywords"] = [k.strip() for k in keywords.split(",") if k.strip()]
    urls = _present([v for name in PROJECT_URL_FIELDS for v in data.getlist(name)])
    if urls:
        raw["project_urls"] = _project_urls(urls)
    return raw  # type: ignore[return-value]


def _refuse_file_parts(files: MultiValueDict) -> None:
    """A metadata or control field sent as a file part is a client bug; say which one."""
    known = {*SINGLE_FIELDS, *LIST_FIELDS, *PROJECT_URL_FIELDS, KEYWORDS_FIELD, *CONTROL_FIELDS}
    for name in files:
        if name in known:
            raise UploadRejected(400, f"{name}: Should not be a tuple.")


def _refuse_nul(post: QueryDict, query: QueryDict, files: MultiValueDict) -> None:
    """No field may hold a NUL: PostgreSQL cannot store one in text, and no metadata needs it.

    Every field is checked, known or not, before any of them reaches a query or a message.
    """
    parts = [*post.lists(), *query.lists()]
    parts += [(name, [upload.name or "" for upload in uploads]) for name, uploads in files.lists()]
    for name, values in parts:
        if "\x00" in name or any("\x00" in value for value in values):
            shown = name.replace("\x00", "\\x00")
            raise UploadRejected(
                400, f"The upload form field '{shown}' contains a NUL character (\\x00)."
            )


def parse(post: QueryDict, query: QueryDict, files: MultiValueDict) -> UploadForm:
    """Read the whole form. ``:action`` may come as a field (all clients) or a query parameter."""
    _refuse_file_parts(files)
    _refuse_nul(post, query, files)

    def text(name: str) -> str:
        return (_single(post, name) or "").strip()

    return UploadForm(
        action=text(":action") or (query.get(":action") or "").strip(),
        protocol_version=text("protocol_version"),
        filetype=text("filetype"),
        pyversion=text("pyversion"),
        md5_digest=text("md5_digest").lower(),
        sha256_digest=text("sha256_digest").lower(),
        blake2_256_digest=text("blake2_256_digest").lower(),
        comment=(post.get("comment") or ""),
        attestations=text("attestations"),
        metadata=parse_metadata(post),
    )


def content_file(files: MultiValueDict) -> UploadedFile:
    """The distribution itself: the ``content`` part."""
    content = files.get("content")
    if content is None:
        raise UploadRejected(400, "Upload payload does not have a file.")
    if (content.content_type or "").startswith("image/"):
        raise UploadRejected(400, "Invalid distribution file.")
    return content
