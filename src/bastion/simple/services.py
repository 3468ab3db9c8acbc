"""Rendering the simple pages once per change into a static tree, on the first read after it.

Layout, under ``settings.PAGES_DIR`` or any target directory::

    simple/index.html   simple/index.json            the project list
    simple/<name>/index.html  simple/<name>/index.json  one project

so nginx or a CDN can serve the same tree (pick ``index.json`` when ``Accept`` names
``application/vnd.pypi.simple.v1+json``). In the live tree the project list is kept as blocks
(``rootlist``), so that a change re-renders one block, not the whole index; an exported tree has
it as the two files above. Files are replaced by rename under the directory's lock
(``pagefiles``). A change removes its project's pages (:func:`mark_stale`), so a static server in
front of the live tree hands a missing page to Bastion, which renders it.
"""

import contextlib
import functools
import hashlib
import logging
import os
import re
from collections.abc import Callable, Iterable
from pathlib import Path

from django.conf import settings
from django.db.models import BooleanField, ExpressionWrapper, Prefetch, Q

from bastion import datadir
from bastion.operations import metrics
from bastion.packaging.models import File, Project, Release
from bastion.packaging.services import last_serial
from bastion.simple import render, rootlist
from bastion.simple.pagecache import Page
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
    return _render(normalized_name, target_dir, always=True)


def refresh_project(normalized_name: str) -> bool:
    """Render the project's pages in the live tree unless they are current; False (and no
    pages) if it is unknown.

    The read path asks this of a page that is missing (a change removed it, :func:`mark_stale`)
    or behind the database's serial. Readers that find the same page stale queue on the
    directory's lock, and all but the first find it current: it is rendered once.
    """
    return _render(normalized_name, None, always=False)


def _render(normalized_name: str, target_dir: Path | str | None, *, always: bool) -> bool:
    """Render under the directory's lock, again until the serial is the one rendered.

    A change removes the pages after its commit without the lock, so it may commit while this
    reads the rows and remove the pages before this writes them. Reading the serial again once
    they are written tells: if it moved they are rendered again, and if not, any later change
    commits after that read and removes what was written here.
    """
    directory = pages_root(target_dir) / normalized_name
    if not directory.is_dir():
        # Check before creating anything, so asking for unknown names cannot fill the disk.
        if not Project.objects.filter(normalized_name=normalized_name).exists():
            return False
        datadir.make_public_dirs(directory)
    with _exclusive(directory):
        if not always and (directory / JSON_PAGE).exists():
            rendered = _rendered_serial(directory)
            if rendered is not None:
                serial = _project_serial(normalized_name)
                if serial is not None and rendered >= serial:
                    return True  # rendered by another reader while this one waited for the lock
        while True:
            project = _projects().filter(normalized_name=normalized_name).first()
            if project is None:  # deleted: drop its pages (the empty directory is harmless)
                _drop_pages(directory)
                return False
            with metrics.PAGE_RENDER_SECONDS.labels("project").time():
                _write_project(directory, project)
            if _project_serial(normalized_name) == project.last_serial:
                return True


def _project_serial(normalized_name: str) -> int | None:
    return (
        Project.objects.filter(normalized_name=normalized_name)
        .values_list("last_serial", flat=True)
        .first()
    )


def _drop_pages(directory: Path | str) -> None:
    for page in (HTML_PAGE, JSON_PAGE):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(f"{directory}/{page}")


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
                _drop_pages(stale)
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


def refresh_root(names: Iterable[str] = ()) -> int:
    """Bring the project list up to date with ``names`` and every journalled change since it
    was last rendered; returns the number of its blocks rendered (see ``rootlist``)."""
    with metrics.PAGE_RENDER_SECONDS.labels("root").time():
        return rootlist.refresh(pages_root(), names)


#: Renders a read tries before it gives up on a page that changes under it every time.
_READ_ATTEMPTS = 5


def current_root(read: Callable[[], Page | None]) -> Page | None:
    """The project list as ``read`` finds it, brought up to date first if that finds none
    (the list is missing, marked stale by a change, or behind the database's serial).

    None only if it could not be read after several attempts (changed under every one).
    """
    page = read()
    for _attempt in range(_READ_ATTEMPTS):
        if page is not None:
            break
        refresh_root()  # catches up with every change since it was rendered
        page = read()
        if page is None and rootlist.is_fresh(live_root()):  # up to date yet unreadable:
            render_root()  # a block lost
            page = read()
    return page


def current_project(normalized_name: str, read: Callable[[], Page | None]) -> Page | None:
    """The project's page as ``read`` finds it, rendered first if that finds none (missing,
    removed by a change, or behind the database's serial); None for an unknown project."""
    page = read()
    for _attempt in range(_READ_ATTEMPTS):
        if page is not None or not refresh_project(normalized_name):
            break
        page = read()
    return page


def mark_stale(*, normalized_name: str, **_signal_kwargs) -> None:
    """``project_changed`` receiver: drop the project's pages and mark the project list stale,
    after the commit, so that the next read renders them from the committed rows.

    Rendering here put about a third of an upload's server time in the request, and a burst of
    uploads (``twine upload`` of many files) rendered pages nobody read in between. Removing the
    pages costs two system calls and takes no lock; the read path finds them missing and renders
    them (``refresh_project``, ``rootlist.refresh``), once however many readers ask. A reader
    that rendered from rows read before this commit, and wrote after, reads the serial again
    and renders again, so nothing stale is served once this has returned.

    The change is already committed, so a failure here must not fail the request that made it.
    """
    root = live_root()
    try:
        _drop_pages(f"{root}/{normalized_name}")
        rootlist.mark_stale(root)
    except OSError:
        logger.exception("could not mark the simple pages of %s stale", normalized_name)


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
