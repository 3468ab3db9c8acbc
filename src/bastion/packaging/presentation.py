"""How a release's metadata is shown on the project page: install commands, links, classifiers.

Pure functions over values the page already has; nothing here queries the database. The icons
are drawn for Bastion (24-unit strokes in ``currentColor``), inline so the strict
Content-Security-Policy has nothing to load and they follow the link colour and focus style.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.utils.safestring import SafeString, mark_safe

#: Recognised kinds of project link; anything else is drawn with the generic ``link`` icon.
_ICON_PATHS = {
    "home": '<path d="M3 11.5 12 4l9 7.5"/><path d="M5.5 10v10h5v-6h3v6h5V10"/>',
    "source": '<path d="m8 7-5 5 5 5"/><path d="m16 7 5 5-5 5"/><path d="m13.5 5-3 14"/>',
    "github": (
        '<circle cx="6" cy="5" r="2"/><circle cx="6" cy="19" r="2"/><circle cx="18" cy="6" r="2"/>'
        '<path d="M6 7v10"/><path d="M18 8c0 5-4 5-8 6.5-2 .7-4 1.7-4 2.5"/>'
    ),
    "gitlab": '<path d="M12 21 3 13.5 5.5 4l3 8h7l3-8 2.5 9.5z"/>',
    "docs": (
        '<path d="M3 5h6a3 3 0 0 1 3 3v12a2 2 0 0 0-2-2H3z"/>'
        '<path d="M21 5h-6a3 3 0 0 0-3 3v12a2 2 0 0 1 2-2h7z"/>'
    ),
    "issues": '<circle cx="12" cy="12" r="9"/><path d="M12 7v6"/><path d="M12 16.5v.5"/>',
    "changelog": '<circle cx="12" cy="12" r="9"/><path d="M12 7v5l3.5 2"/>',
    "funding": (
        '<path d="M12 20s-7.5-4.6-7.5-10.2A4.1 4.1 0 0 1 12 7.4a4.1 4.1 0 0 1 7.5 2.4C19.5 15.4 '
        '12 20 12 20z"/>'
    ),
    "link": (
        '<path d="M10 14a4 4 0 0 0 5.7 0l3-3A4 4 0 0 0 13 5.3l-1 1"/>'
        '<path d="M14 10a4 4 0 0 0-5.7 0l-3 3a4 4 0 0 0 5.7 5.7l1-1"/>'
    ),
}

#: Normalized labels (lower case, letters only) people use in Project-URL, by kind.
_LABEL_KINDS = {
    "home": {"homepage", "home", "website", "web", "site"},
    "source": {"source", "sourcecode", "code", "repository", "repo", "git", "github", "gitlab"},
    "docs": {"documentation", "docs", "doc", "manual", "guide", "readthedocs"},
    "issues": {"issues", "issue", "issuetracker", "bugtracker", "bugs", "bugreports", "tracker"},
    "changelog": {"changelog", "changes", "releasenotes", "history", "whatsnew", "news"},
    "funding": {"funding", "sponsor", "sponsors", "donate", "donation", "donations", "fund"},
}

_FORGES = {"github.com": "github", "gitlab.com": "gitlab"}


@dataclass(frozen=True)
class ProjectLink:
    label: str
    url: str
    kind: str

    @property
    def icon(self) -> SafeString:
        return icon(self.kind)


def icon(kind: str) -> SafeString:
    """An inline, decorative SVG for a link kind; the link's text is what screen readers read."""
    paths = _ICON_PATHS.get(kind, _ICON_PATHS["link"])
    return mark_safe(  # noqa: S308 - constant markup from this module, no user data
        '<svg class="icon" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24" width="18" '
        'height="18" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" '
        f'stroke-linejoin="round" aria-hidden="true" focusable="false">{paths}</svg>'
    )


def link_kind(label: str, url: str) -> str:
    """Which icon a project link gets: its label decides, a GitHub or GitLab address refines."""
    words = re.sub(r"[^a-z]", "", label.lower())
    kind = next((kind for kind, labels in _LABEL_KINDS.items() if words in labels), "link")
    host = (urlsplit(url).hostname or "").removeprefix("www.")
    forge = _FORGES.get(host)
    if forge and kind in {"source", "link"}:
        return forge
    return kind


#: The order links are shown in. PostgreSQL's JSON keeps no key order, so the author's order of
#: Project-URLs cannot be relied on; this order is the same on every database.
_KIND_ORDER = ("home", "source", "github", "gitlab", "docs", "issues", "changelog", "funding")


def project_links(home_page: str, project_urls: dict) -> list[ProjectLink]:
    """Home page and Project-URL links; only http(s), so metadata cannot smuggle a script URL."""
    candidates = [("Homepage", home_page)] if home_page else []
    candidates += list(project_urls.items())
    links = [
        ProjectLink(label=label, url=url, kind=link_kind(label, url))
        for label, url in candidates
        if isinstance(url, str) and url.lower().startswith(("https://", "http://"))
    ]
    return sorted(links, key=_shown_order)


def _shown_order(link: ProjectLink) -> tuple[int, str]:
    rank = _KIND_ORDER.index(link.kind) if link.kind in _KIND_ORDER else len(_KIND_ORDER)
    return rank, link.label.casefold()


def classifier_groups(classifiers: list[str]) -> list[tuple[str, list[str]]]:
    """Trove classifiers grouped by kind (the part before the first `` :: ``), groups A to Z.

    Within a group the classifiers keep the author's order and lose the repeated kind:
    ``License :: OSI Approved :: MIT License`` shows as "OSI Approved :: MIT License" under
    "License".
    """
    groups: dict[str, list[str]] = {}
    for classifier in classifiers:
        if not isinstance(classifier, str) or not classifier.strip():
            continue
        kind, _, rest = classifier.partition(" :: ")
        groups.setdefault(kind.strip(), []).append(rest.strip() or kind.strip())
    return sorted(groups.items(), key=lambda item: item[0].lower())


def install_commands(name: str, version: str | None = None) -> dict[str, str]:
    """The pip and uv commands that install ``name`` from this index, never from PyPI.

    On a private index, ``pip install NAME`` copied without ``--index-url`` resolves against
    PyPI: the dependency-confusion mistake. ``version`` pins a release other than the newest.
    """
    requirement = f"{name}=={version}" if version else name
    index = f"{settings.BASE_URL}/simple/"
    return {
        "pip": f"pip install --index-url {index} {requirement}",
        "uv": f"uv pip install --index-url {index} {requirement}",
    }
