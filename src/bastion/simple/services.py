"""Rendering the simple pages once per change into a static tree.

Layout, under ``settings.PAGES_DIR`` or any target directory::

    simple/index.html   simple/index.json            the project list
    simple/<name>/index.html  simple/<name>/index.json  one project

so nginx or a CDN can serve the same tree (pick ``index.json`` when ``Accept`` names
``application/vnd.pypi.simple.v1+json``). In the live tree the project list is kept as blocks
(``rootlist``), so that a change re-renders one block, not the whole index; an exported tree has
it as the two files above. Files are replaced by rename under the directory's lock
(``pagefiles``).
"""

import functools
import hashlib
import logging
import os
import re
from collections.abc import Iterable
from pathlib import Path

from django.conf import settings
from django.db.models import BooleanField, ExpressionWrapper, Prefetch, Q

from bastion import datadir
from bastion.operations import metrics
from bastion.packaging.models import File, Project, Release
from bastion.packaging.services import last_serial
from bastion.simple import render, rootlist
from bastion.simple.pagefiles import exclusive as _exclusive
from bastion.simple.pagefiles import write_atomic as _write_atomic

logger = logging.getLogger(__name__)

HTML_PAGE = "index.html"
JSON_PAGE = "index.json"


# The live tree sits in a directory named after the page format, so that a release of Bastion
# that renders differently starts from an empty tree (rendered lazily) instead of serving pages
# written by the old code. Change it whenever ``render`` changes its output. (2: the project list
# became blocks, and files link their PEP 740 provenance; a static server must not go on serving a
# format-1 list that no longer changes.)
PAGE_FORMAT = "format-2"


@functools.cache
def _cached_tree_name(base_url: str) -> str:
    """The live tree's directory: the page format and the public URL, which provenance URLs
    (PEP 740 wants them absolute) embed, so a new ``BASTION_BASE_URL`` starts a fresh tree."""
    return f"{PAGE_FORMAT}-{hashlib.sha256(base_url.encode()).hexdigest()[:12]}"


def pages_root(target_dir: Path | str | None = None) -> Path:
    """The ``simple/`` directory of the tree (the live one unless ``target_dir`` is given)."""
    if target_dir is not None:
        return Path(target_dir) / "simple"
    return Path(live_root())


def live_root() -> str:
    """The live tree's ``simple/`` directory as a plain string, for the read path's speed."""
    return f"{os.fspath(settings.PAGES_DIR)}/{tree_name()}/simple"


def tree_name() -> str:
    """The directory under ``PAGES_DIR`` holding the live tree (:func:`_cached_tree_name`)."""
    return _cached_tree_name(settings.BASE_URL)


def render_project(normalized_name: str, target_dir: Path | str | None = None) -> bool:
    """Write both pages of one project from the database; False (and no pages) if it is unknown.

    ``normalized_name`` must already be a normalized, valid project name: it becomes a path.
    """
    directory = pages_root(target_dir) / normalized_name
    if not directory.is_dir():
        # Check before creating anything, so asking for unknown names cannot fill the disk.
        if not Project.objects.filter(normalized_name=normalized_name).exists():
            return False
        datadir.make_public_dirs(directory)
    with _exclusive(directory):
        project = _projects().filter(normalized_name=normalized_name).first()
        if project is None:  # deleted: drop its pages (the empty directory is harmless)
            for page in (HTML_PAGE, JSON_PAGE):
                (directory / page).unlink(missing_ok=True)
            return False
        with metrics.PAGE_RENDER_SECONDS.labels("project").time():
            _write_project(directory, project)
    return True


def render_root(target_dir: Path | str | None = None) -> None:
    """Write the whole project list: its blocks in the live tree, two plain files in an export."""
    directory = pages_root(target_dir)
    datadir.make_public_dirs(directory)
    with metrics.PAGE_RENDER_SECONDS.labels("root").time():
        if target_dir is None:
            rootlist.rebuild(directory)
            return
        with _exclusive(directory):
            rows, serial = rootlist.listed_rows(), last_serial()
            for page in (JSON_PAGE, HTML_PAGE):
                _write_atomic(directory / page, rootlist.whole_page(rows, serial, page))


def render_all(target_dir: Path | str | None = None) -> int:
    """Render every page (for start-up repair or a static export); returns the project count.

    Pages of projects that no longer exist are removed from the tree.
    """
    root = pages_root(target_dir)
    datadir.make_public_dirs(root)
    rendered = set()
    for project in _projects().iterator(chunk_size=500):
        directory = root / project.normalized_name
        datadir.make_public_dirs(directory)
        with _exclusive(directory):
            _write_project(directory, project)
        rendered.add(project.normalized_name)
    for stale in root.iterdir():
        if stale.is_dir() and stale.name not in rendered and stale.name != rootlist.LIST_DIR:
            with _exclusive(stale):
                for page in (HTML_PAGE, JSON_PAGE):
                    (stale / page).unlink(missing_ok=True)
    render_root(target_dir)
    return len(rendered)


_SERIAL_TRAILER = re.compile(rb"<!--SERIAL (\d+)-->\s*\Z")


def _rendered_serial(directory: Path) -> int | None:
    """The serial an HTML page on disk was rendered at, from its ``<!--SERIAL n-->`` trailer."""
    try:
        with open(directory / HTML_PAGE, "rb") as page:
            page.seek(0, os.SEEK_END)
            page.seek(max(0, page.tell() - 64))
            match = _SERIAL_TRAILER.search(page.read())
    except FileNotFoundError:
        return None
    return int(match.group(1)) if match else None


def _render_unless_current(directory: Path, serial: int | None, render_page) -> bool:
    """Render unless the page on disk is at ``serial`` or later; True if it rendered.

    One upload journals up to three changes (project, release, file), and each announces itself
    after the commit; the pages of one serial never differ, so they are rendered only once.
    """
    rendered = _rendered_serial(directory)
    if serial is not None and rendered is not None and rendered >= serial:
        return False
    render_page()
    return True


def refresh_root(names: Iterable[str] = ()) -> int:
    """Bring the project list up to date with ``names`` and every journalled change since it
    was last rendered; returns the number of its blocks rendered (see ``rootlist``)."""
    with metrics.PAGE_RENDER_SECONDS.labels("root").time():
        return rootlist.refresh(pages_root(), names)


def refresh_after_change(*, normalized_name: str, **_signal_kwargs) -> None:
    """``project_changed`` receiver: re-render the project and its block of the project list
    after a commit, so a page read right after the change shows it.

    The change is already committed, so a failure here must not fail the request that made it.
    Instead the possibly stale pages are removed: the next read renders them afresh.
    """
    try:
        serial = (
            Project.objects.filter(normalized_name=normalized_name)
            .values_list("last_serial", flat=True)
            .first()
        )
        _render_unless_current(
            pages_root() / normalized_name, serial, lambda: render_project(normalized_name)
        )
        refresh_root([normalized_name])
    except Exception:
        logger.exception("could not render the simple pages of %s", normalized_name)
        for page in (HTML_PAGE, JSON_PAGE):
            (pages_root() / normalized_name / page).unlink(missing_ok=True)
        (pages_root() / rootlist.LIST_DIR / rootlist.MANIFEST).unlink(missing_ok=True)


def _projects():
    """Projects with their releases and files, each file knowing whether it has provenance
    (PEP 740) without loading its attestations."""
    has_provenance = ExpressionWrapper(Q(provenance__isnull=False), output_field=BooleanField())
    files = File.objects.annotate(has_provenance=has_provenance)
    releases = Release.objects.prefetch_related(Prefetch("files", queryset=files))
    return Project.objects.prefetch_related(Prefetch("releases", queryset=releases))


def _write_project(directory: Path, project: Project) -> None:
    document = render.project_document(project)
    _write_atomic(directory / JSON_PAGE, render.json_bytes(document))
    _write_atomic(directory / HTML_PAGE, render.project_html(document))
