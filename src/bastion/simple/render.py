"""The bytes of the simple pages (PEP 503/691 with 592, 629, 658/714, 700 and 792).

One function builds each page's JSON document from the database rows; the HTML is written from
that same document, so the two formats can never disagree. Both end with the serial they were
rendered at (``meta._last-serial`` in JSON, PyPI's ``<!--SERIAL n-->`` trailer in HTML), which the
read path turns into the ``X-PyPI-Last-Serial`` header without asking the database.
"""

import json
from datetime import UTC, datetime
from html import escape
from urllib.parse import quote

from django.conf import settings
from django.urls import reverse
from packaging.version import Version

from bastion.packaging.models import File, Project, ProjectStatus

API_VERSION = "1.4"  # PEP 833 freezes the HTML form at 1.4; JSON would move on alone.


def file_url(key: str) -> str:
    """Root-relative, so a page is right whatever host name the client used to reach it."""
    return "/files/" + quote(key, safe="/+")


def upload_time(moment: datetime) -> str:
    """PEP 700's form: UTC with microseconds and a ``Z``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def provenance_url(normalized_name: str, version: str, filename: str) -> str:
    """PEP 740's provenance URL of a file: absolute, as the PEP requires, unlike file URLs."""
    path = reverse("provenance", args=[normalized_name, version, filename])
    return settings.BASE_URL + path


def yanked_value(release) -> bool | str:
    """PEP 592 / PEP 691: the reason when there is one, else a plain ``True``."""
    if not release.yanked:
        return False
    return release.yanked_reason or True


def project_document(project: Project) -> dict:
    """The PEP 691 JSON document of a project page. Quarantined projects list no files.

    Each file must carry ``has_provenance`` (see ``bastion.simple.services``).
    """
    quarantined = project.status == ProjectStatus.QUARANTINED
    releases = [] if quarantined else list(project.releases.all())
    files = sorted(
        ((file, release) for release in releases for file in release.files.all()),
        key=lambda pair: (Version(pair[1].version), pair[0].filename),
    )
    status = {"status": project.status}
    if project.status_reason:
        status["reason"] = project.status_reason
    return {
        "meta": {"api-version": API_VERSION, "_last-serial": project.last_serial},
        "name": project.normalized_name,
        "project-status": status,
        "versions": [r.version for r in sorted(releases, key=lambda r: Version(r.version))],
        "files": [_file_entry(project, file, release) for file, release in files],
    }


def _file_entry(project: Project, file: File, release) -> dict:
    core_metadata = (
        {"sha256": file.metadata_sha256_digest} if file.metadata_sha256_digest else False
    )
    return {
        "filename": file.filename,
        "url": file_url(file.path),
        "hashes": {"sha256": file.sha256_digest},
        "requires-python": file.requires_python or release.requires_python or None,
        "size": file.size,
        "upload-time": upload_time(file.upload_time),
        "yanked": yanked_value(release),
        "core-metadata": core_metadata,
        # PyPI's bug-compatible legacy key; never the plain ``dist-info-metadata`` (PEP 714).
        "data-dist-info-metadata": core_metadata,
        "provenance": (
            provenance_url(project.normalized_name, release.version, file.filename)
            if file.has_provenance  # type: ignore[attr-defined]  # annotated by the page query
            else None
        ),
    }


def json_bytes(document: object) -> bytes:
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()


def project_html(document: dict) -> bytes:
    """PEP 503 HTML from the JSON document, with PyPI's data attributes and serial trailer."""
    name = escape(document["name"])
    status = document["project-status"]
    head = [
        '<meta name="pypi:repository-version" content="1.4">',
        f'<meta name="pypi:project-status" content="{escape(status["status"])}">',
    ]
    if "reason" in status:
        head.append(
            f'<meta name="pypi:project-status-reason" content="{escape(status["reason"])}">'
        )
    head.append(f"<title>Links for {name}</title>")
    body = [f"<h1>Links for {name}</h1>"] + [_anchor(entry) for entry in document["files"]]
    return _page(head, body, document["meta"]["_last-serial"])


def _anchor(entry: dict) -> str:
    href = f"{entry['url']}#sha256={entry['hashes']['sha256']}"
    attributes = [f'href="{escape(href)}"']
    if entry["requires-python"]:
        attributes.append(f'data-requires-python="{escape(entry["requires-python"])}"')
    yanked = entry["yanked"]
    if yanked is True:
        attributes.append("data-yanked")
    elif yanked:
        attributes.append(f'data-yanked="{escape(yanked)}"')
    if entry["core-metadata"]:
        value = f"sha256={entry['core-metadata']['sha256']}"
        attributes.append(f'data-dist-info-metadata="{value}" data-core-metadata="{value}"')
    # Not standard, but uv reads them from HTML for --exclude-newer and progress bars. Local
    # files always have both; a page from an HTML-only upstream index may have neither.
    if entry.get("size") is not None:
        attributes.append(f'data-size="{entry["size"]}"')
    if entry.get("upload-time"):
        attributes.append(f'data-upload-time="{escape(entry["upload-time"])}"')
    if entry.get("provenance"):
        attributes.append(f'data-provenance="{escape(entry["provenance"])}"')
    return f"<a {' '.join(attributes)}>{escape(entry['filename'])}</a><br />"


def root_entries_html(rows: list[tuple[str, str, int]]) -> bytes:
    """The HTML lines of part of the project list; ``rows`` hold (name, normalized name, serial)."""
    return "".join(
        f'    <a href="/simple/{escape(normalized)}/">{escape(name)}</a>\n'
        for name, normalized, _ in rows
    ).encode()


def root_entries_json(rows: list[tuple[str, str, int]]) -> bytes:
    """The JSON objects of part of the project list, comma-separated, without brackets."""
    return json_bytes([{"name": name, "_last-serial": last} for name, _, last in rows])[1:-1]


def root_html(fragments: list[bytes], serial: int) -> bytes:
    """The project list's HTML page from its fragments (:func:`root_entries_html`) in order."""
    head = ['<meta name="pypi:repository-version" content="1.4">', "<title>Simple index</title>"]
    return b"".join([_page_start(head).encode(), *fragments, _page_end(serial).encode()])


def root_json(fragments: list[bytes], serial: int) -> bytes:
    """The project list's JSON page from its fragments (:func:`root_entries_json`) in order."""
    meta = {"api-version": API_VERSION, "_last-serial": serial}
    empty = json_bytes({"meta": meta, "projects": []})
    opening, closing = empty[: -len(b"]}")], b"]}"
    return opening + b",".join(fragment for fragment in fragments if fragment) + closing


def _page(head: list[str], body: list[str], serial: int) -> bytes:
    lines = "".join(f"    {line}\n" for line in body)
    return f"{_page_start(head)}{lines}{_page_end(serial)}".encode()


def _page_start(head: list[str]) -> str:
    lines = ["<!DOCTYPE html>", '<html lang="en">', "  <head>", '    <meta charset="utf-8">']
    lines += [f"    {line}" for line in head]
    lines += ["  </head>", "  <body>"]
    return "\n".join(lines) + "\n"


def _page_end(serial: int) -> str:
    return f"  </body>\n</html>\n<!--SERIAL {serial}-->\n"
