"""The project list (``/simple/``) kept as blocks of names, so that a change re-renders one block.

Every change alters the list (each entry carries its project's serial), and rendering it whole
costs about 5 µs a project: 1.2 s at 500,000 projects. So the live tree keeps it in ``.list/``
as consecutive blocks of at most ``BLOCK_MAX`` names, each rendered once, listed in shelves of
at most ``SHELF_MAX`` blocks, which a small manifest lists in turn (a two-level B-tree)::

    .list/manifest.json        {"serial": S, "shelves": [[first name, shelf id], ...]}
    .list/<id>.shelf           [[first name, block id], ...]
    .list/<id>.rows            a block's rows: [[name, normalized name, serial], ...]
    .list/<id>.html  <id>.json its entries, rendered in each format

A block (a shelf) holds the names from its first name up to the next one's. A change only marks
the manifest stale after its commit (:func:`mark_stale`); the next read of the list brings it up
to date (:func:`refresh`), so a burst of uploads renders nothing until someone reads the list. The
refresh reads the rows of the changed names only, rewrites the blocks they fall in and their
shelves (splitting one grown past its maximum, dropping one left empty) and replaces the manifest
by rename, all under the directory's lock: at 500,000 projects that is one block of a few hundred
names per changed name, one shelf of a few dozen blocks and a manifest of a few dozen shelves. The
changed names are every name the journal records since the manifest's serial, so a change whose
mark never happened (a crash, another server) is caught up by the next refresh. Block and shelf
files are never rewritten: a new version has a new id, so a reader reads exactly the fragments its
manifest leads to, or (if a writer has since removed one) reads the newer manifest.
:func:`assemble` joins the page; the read path does that once per change and keeps the bytes.

Names are in code point order (``sorted``): SQLite's order and PostgreSQL's "C" collation, so
the blocks do not depend on the database's collation.
"""

import json
import os
import secrets
from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from bastion import datadir
from bastion.packaging.models import JournalEntry, Project, ProjectStatus
from bastion.packaging.services import last_serial
from bastion.simple import render
from bastion.simple.pagefiles import exclusive, write_atomic

LIST_DIR = ".list"  # not a valid project name, so it never meets a project's directory
MANIFEST = "manifest.json"
BLOCK_MAX = 512  # names in a block; a full rebuild fills blocks to half of it
SHELF_MAX = 64  # blocks in a shelf; a full rebuild fills shelves to half of it
#: More changed names than this since the manifest's serial: a full rebuild is cheaper.
CATCH_UP_MAX = 2000
#: The manifest's modification time once a change has marked it (:func:`mark_stale`); a written
#: file never has it.
STALE_MTIME = 0
_READ_ATTEMPTS = 5  # manifests read while writers replace blocks, before calling it damaged
_FRAGMENTS = {"index.html": ".html", "index.json": ".json"}
_BLOCK_SUFFIXES = (".rows", *_FRAGMENTS.values())
_ASSEMBLE = {"index.html": render.root_html, "index.json": render.root_json}

Row = tuple[str, str, int]  # name, normalized name, serial


@dataclass
class Manifest:
    serial: int
    shelves: list[list[str]]  # [first normalized name, shelf id], in order
    stale: bool = False  # marked by a change since it was written (:func:`mark_stale`)


def rebuild(simple_dir: Path) -> int:
    """Render every block from the database; returns the number of blocks."""
    directory = _list_dir(simple_dir)
    with exclusive(directory):
        serial = last_serial()
        rendered = _rebuild(directory, serial)
        if last_serial() == serial:
            return rendered
        return rendered + _catch_up(directory, set())  # changed meanwhile (see refresh)


def refresh(simple_dir: Path, names: Iterable[str] = ()) -> int:
    """Bring the list up to date with ``names`` and every change since its serial.

    Returns the number of blocks rendered: 0 when nothing changed, at most one a changed name
    (plus splits) otherwise; a missing list, or a long gap, is rebuilt whole.

    :func:`mark_stale` takes no lock, so a change can commit while this reads the rows and mark
    the old manifest before this replaces it. Hence the serial is read again once the manifest is
    written: if it moved, the list catches up again; if not, any later change commits after that
    read and so marks the manifest written here.
    """
    directory = _list_dir(simple_dir)
    with exclusive(directory):
        return _catch_up(directory, set(names))


def _catch_up(directory: Path, changed: set[str]) -> int:
    """:func:`refresh`, with the directory's lock held."""
    rendered = 0
    while True:
        manifest = read_manifest(directory)
        serial = last_serial()
        if manifest is not None and serial > manifest.serial:
            changed.update(_journalled_names(manifest.serial, serial))
        if manifest is None or len(changed) > CATCH_UP_MAX:
            rendered += _rebuild(directory, serial)
        elif not changed and serial <= manifest.serial:
            if not manifest.stale:
                return rendered
            os.utime(directory / MANIFEST)  # marked after this serial's change was listed
        else:
            try:
                rendered += _apply(directory, manifest, _current_rows(changed), changed, serial)
            except FileNotFoundError:  # a block file lost (by hand, a full disk): afresh
                rendered += _rebuild(directory, serial)
        if last_serial() == serial:
            return rendered
        changed = set()


def mark_stale(simple_dir: str) -> None:
    """Mark the list as behind the database, for the next read to bring it up to date.

    A change calls this after its commit instead of rendering: one system call, no lock. The mark
    is the manifest's modification time set to 0 (:data:`STALE_MTIME`), so the read path's one
    ``stat`` already sees it: the file's identity changes, and :func:`assemble` declines it.
    """
    path = f"{simple_dir}/{LIST_DIR}/{MANIFEST}"
    try:
        os.utime(path, ns=(STALE_MTIME, STALE_MTIME))
    except FileNotFoundError:
        pass  # no list yet: the first read renders it whole
    except PermissionError:  # a manifest another account wrote: without it, the list is rebuilt
        os.unlink(path)


def is_fresh(simple_dir: str) -> bool:
    """Whether the list has a manifest that no change has marked stale since it was written."""
    try:
        return os.stat(f"{simple_dir}/{LIST_DIR}/{MANIFEST}").st_mtime_ns != STALE_MTIME
    except FileNotFoundError:
        return False


def read_manifest(directory: Path) -> Manifest | None:
    try:
        with open(directory / MANIFEST, "rb") as handle:
            stale = os.fstat(handle.fileno()).st_mtime_ns == STALE_MTIME
            document = json.loads(handle.read())
    except FileNotFoundError:
        return None
    return Manifest(document["serial"], document["shelves"], stale)


def assemble(simple_dir: str, page_file: str) -> tuple[tuple[int, int, int], bytes, int] | None:
    """The page ``page_file`` (``index.html`` or ``index.json``) joined from the fragments.

    Returns the identity (inode, mtime, size) of the manifest it follows, the bytes and the
    serial; None if there is no list yet, if a change has marked it stale, or if it is damaged
    (a block file lost).
    """
    path = f"{simple_dir}/{LIST_DIR}/{MANIFEST}"
    for _attempt in range(_READ_ATTEMPTS):
        try:
            with open(path, "rb") as handle:
                info = os.fstat(handle.fileno())
                if info.st_mtime_ns == STALE_MTIME:
                    return None  # changed since: bring it up to date (refresh) first
                document = json.loads(handle.read())
        except FileNotFoundError:
            return None
        suffix = _FRAGMENTS[page_file]
        try:
            fragments = [
                _read(f"{simple_dir}/{LIST_DIR}/{block_id}{suffix}")
                for _, shelf_id in document["shelves"]
                for _, block_id in json.loads(_read(f"{simple_dir}/{LIST_DIR}/{shelf_id}.shelf"))
            ]
        except FileNotFoundError:
            continue  # a writer replaced the manifest and removed its old files: read again
        identity = (info.st_ino, info.st_mtime_ns, info.st_size)
        serial = document["serial"]
        return identity, _ASSEMBLE[page_file](fragments, serial), serial
    return None  # a block is missing for good: the list needs a rebuild


def whole_page(rows: list[Row], serial: int, page_file: str) -> bytes:
    """The page as one piece, for a static export: the same bytes the blocks assemble to."""
    fragment = {".html": render.root_entries_html, ".json": render.root_entries_json}
    return _ASSEMBLE[page_file]([fragment[_FRAGMENTS[page_file]](rows)], serial)


def listed_rows() -> list[Row]:
    """Every listed project in order. Quarantined projects are hidden, as on PyPI."""
    rows = Project.objects.exclude(status=ProjectStatus.QUARANTINED).values_list(
        "name", "normalized_name", "last_serial"
    )
    return sorted(rows, key=_normalized)


def _list_dir(simple_dir: Path) -> Path:
    directory = simple_dir / LIST_DIR
    datadir.make_public_dirs(directory)
    return directory


def _rebuild(directory: Path, serial: int) -> int:
    rows = listed_rows()
    blocks = [
        [chunk[0][1] if chunk else "", _write_block(directory, chunk)]
        for chunk in _chunks(rows, BLOCK_MAX // 2) or [[]]
    ]
    shelves = [
        [part[0][0], _write_shelf(directory, part)] for part in _chunks(blocks, SHELF_MAX // 2)
    ]
    _write_manifest(directory, serial, _from_start(shelves))
    kept = {MANIFEST} | {block_id for _, block_id in blocks} | {shelf for _, shelf in shelves}
    for leftover in directory.iterdir():  # old files, and any a crash left behind
        if leftover.name != MANIFEST and leftover.name.split(".")[0] not in kept:
            leftover.unlink(missing_ok=True)
    return len(blocks)


def _journalled_names(after: int, upto: int) -> set[str]:
    names = (
        JournalEntry.objects.filter(pk__gt=after, pk__lte=upto)
        .values_list("project_name", flat=True)
        .distinct()
    )
    return set(names[: CATCH_UP_MAX + 1])


def _current_rows(names: set[str]) -> dict[str, Row]:
    rows = (
        Project.objects.exclude(status=ProjectStatus.QUARANTINED)
        .filter(normalized_name__in=names)
        .values_list("name", "normalized_name", "last_serial")
    )
    return {row[1]: row for row in rows}


def _apply(
    directory: Path, manifest: Manifest, current: dict[str, Row], changed: set[str], serial: int
) -> int:
    shelves = list(manifest.shelves)
    replaced: list[str] = []  # files of the old versions, removed once the manifest is replaced
    written = 0
    for index, names in _by_range(shelves, changed):
        first, shelf_id = shelves[index]
        blocks = _read_json(directory, f"{shelf_id}.shelf")
        new_blocks, old_blocks, rendered = _apply_blocks(directory, blocks, names, current)
        if not old_blocks:
            continue
        written += rendered
        replaced += [f"{shelf_id}.shelf", *_block_files(old_blocks)]
        shelves[index : index + 1] = [
            [first if part == 0 else chunk[0][0], _write_shelf(directory, chunk)]
            for part, chunk in enumerate(_split(new_blocks, SHELF_MAX))
        ]
    if not shelves:
        shelves = [["", _write_shelf(directory, [["", _write_block(directory, [])]])]]
        written += 1
    if replaced or serial > manifest.serial or manifest.stale:
        _write_manifest(directory, max(serial, manifest.serial), _from_start(shelves))
    for name in replaced:
        (directory / name).unlink(missing_ok=True)
    return written


def _apply_blocks(
    directory: Path, blocks: list[list[str]], names: set[str], current: dict[str, Row]
) -> tuple[list[list[str]], list[str], int]:
    """One shelf's blocks with ``names`` brought up to date: the new list, the ids it no longer
    has, and how many blocks were rendered."""
    first, before = blocks[0][0], len(blocks)
    blocks = list(blocks)
    replaced = []
    for index, in_block in _by_range(blocks, names):
        block_first, block_id = blocks[index]
        rows = _read_rows(directory, block_id)
        updated = _updated(rows, in_block, current)
        if updated != rows:
            replaced.append(block_id)
            blocks[index : index + 1] = [
                [block_first if part == 0 else chunk[0][1], _write_block(directory, chunk)]
                for part, chunk in enumerate(_split(updated, BLOCK_MAX))
            ]
    rendered = len(blocks) - (before - len(replaced))
    if blocks:
        blocks[0] = [first, blocks[0][1]]  # an emptied first block's range passes to the next
    return blocks, replaced, rendered


def _by_range(ranges: list[list[str]], names: Iterable[str]) -> list[tuple[int, set[str]]]:
    """``names`` grouped by the range (of ``[first, id]`` pairs) they fall in, last range first,
    so that replacing one range by several leaves the indexes of those before it valid."""
    firsts = [first for first, _ in ranges]
    grouped: dict[int, set[str]] = {}
    for name in names:
        # A name before the first range's first name belongs to the first range: the first
        # shelf starts from "", but its first block's first name is a real one.
        grouped.setdefault(max(bisect_right(firsts, name) - 1, 0), set()).add(name)
    return sorted(grouped.items(), reverse=True)


def _updated(rows: list[Row], names: set[str], current: dict[str, Row]) -> list[Row]:
    kept = [row for row in rows if row[1] not in names]
    return sorted(kept + [current[name] for name in names if name in current], key=_normalized)


def _split(items: list, maximum: int) -> list[list]:
    """One part, or halves of ``maximum`` when it has grown past it; none when empty."""
    if len(items) <= maximum:
        return [items] if items else []
    return _chunks(items, maximum // 2)


def _chunks(items: list, size: int) -> list[list]:
    return [items[start : start + size] for start in range(0, len(items), size)]


def _from_start(shelves: list[list[str]]) -> list[list[str]]:
    """The first shelf starts from "": an emptied first shelf's range passes to the next."""
    return [["", shelves[0][1]], *shelves[1:]]


def _block_files(block_ids: list[str]) -> list[str]:
    return [f"{block_id}{suffix}" for block_id in block_ids for suffix in _BLOCK_SUFFIXES]


def _write_shelf(directory: Path, blocks: list[list[str]]) -> str:
    shelf_id = secrets.token_hex(8)
    write_atomic(directory / f"{shelf_id}.shelf", render.json_bytes(blocks))
    return shelf_id


def _write_block(directory: Path, rows: list[Row]) -> str:
    block_id = secrets.token_hex(8)
    write_atomic(directory / f"{block_id}.rows", render.json_bytes(rows))
    write_atomic(directory / f"{block_id}.html", render.root_entries_html(rows))
    write_atomic(directory / f"{block_id}.json", render.root_entries_json(rows))
    return block_id


def _read_rows(directory: Path, block_id: str) -> list[Row]:
    return [tuple(row) for row in _read_json(directory, f"{block_id}.rows")]


def _read_json(directory: Path, name: str):
    return json.loads((directory / name).read_bytes())


def _write_manifest(directory: Path, serial: int, shelves: list[list[str]]) -> None:
    write_atomic(directory / MANIFEST, render.json_bytes({"serial": serial, "shelves": shelves}))


def _read(path: str) -> bytes:
    with open(path, "rb") as handle:
        return handle.read()


def _normalized(row: Row) -> str:
    return row[1]
