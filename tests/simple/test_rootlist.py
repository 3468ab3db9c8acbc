"""The project list kept as blocks: a change re-renders its block only, and the page stays whole."""

import pytest
from pypi_simple import IndexPage

from bastion.packaging.models import JournalEntry, Project, ProjectStatus
from bastion.packaging.services import journal, last_serial, normalize
from bastion.simple import render, rootlist, services
from tests.simple import factory

JSON = "application/vnd.pypi.simple.v1+json"
MANY = 3000


@pytest.fixture
def many_projects(db):
    """``MANY`` projects written in one statement, and the list rendered from them."""
    Project.objects.bulk_create(
        Project(name=f"Proj_{number:05}", normalized_name=f"proj-{number:05}", last_serial=0)
        for number in range(MANY)
    )
    services.render_root()
    return [f"Proj_{number:05}" for number in range(MANY)]


@pytest.fixture
def rendered_rows(monkeypatch):
    """The rows of every fragment of the list rendered from now on, by format."""
    rendered = {"html": [], "json": []}
    for fragment, key in (("root_entries_html", "html"), ("root_entries_json", "json")):
        monkeypatch.setattr(render, fragment, _noting(getattr(render, fragment), rendered[key]))
    return rendered


def _noting(render_fragment, rendered: list):
    def render_and_note(rows):
        rendered.append(len(rows))
        return render_fragment(rows)

    return render_and_note


def block_ids(directory) -> list[str]:
    """The ids of the list's blocks, in order, through its manifest and shelves."""
    shelves = rootlist.read_manifest(directory).shelves
    return [
        block
        for _, shelf in shelves
        for _, block in rootlist._read_json(directory, f"{shelf}.shelf")
    ]


def served_names(index) -> tuple[list[str], list[str]]:
    """The names listed by ``/simple/`` in each format, with the JSON page's serial checked."""
    json_page = index.get("/simple/", accept=JSON)
    html_page = index.get("/simple/", accept="text/html")
    assert json_page.json()["meta"]["_last-serial"] == last_serial()
    assert html_page.header("X-PyPI-Last-Serial") == str(last_serial())
    html = IndexPage.from_html(html_page.body.decode())
    assert html.repository_version == "1.4"
    return [p["name"] for p in json_page.json()["projects"]], list(html.projects)


def test_adding_a_project_to_a_large_index_renders_one_block(
    many_projects, index, committed, rendered_rows
):
    with committed():
        factory.make_project("Proj_01500.5")
    assert rendered_rows == {"html": [], "json": []}  # the change only marked the list stale
    json_names, html_names = served_names(index)  # the first read brings it up to date
    expected = sorted([*many_projects, "Proj_01500.5"], key=normalize)
    assert json_names == html_names == expected
    assert rendered_rows["html"] and rendered_rows["json"]
    for format_rows in rendered_rows.values():
        assert sum(format_rows) <= rootlist.BLOCK_MAX <= MANY // 4  # not all ~3,000 names


@pytest.fixture
def small_shelves(monkeypatch):
    """Two blocks a shelf, so that shelves split and empty too (before ``many_projects``)."""
    monkeypatch.setattr(rootlist, "SHELF_MAX", 2)


def test_the_list_follows_removals_and_splits_what_grows(small_shelves, many_projects, index):
    removed = Project.objects.filter(normalized_name__startswith="proj-00")  # several blocks
    removed.update(status=ProjectStatus.QUARANTINED)
    added = [f"Proj_01500.{number}" for number in range(rootlist.BLOCK_MAX + 1)]  # into one
    Project.objects.bulk_create(
        Project(name=name, normalized_name=normalize(name)) for name in added
    )
    changed = [*removed.values_list("normalized_name", flat=True), *map(normalize, added)]
    JournalEntry.objects.bulk_create(JournalEntry(project_name=name) for name in changed)
    services.refresh_root()  # caught up from the journal, block by block
    json_names, html_names = served_names(index)
    assert json_names == html_names == sorted([*many_projects[1000:], *added], key=normalize)
    directory = services.pages_root() / rootlist.LIST_DIR
    blocks = block_ids(directory)
    sizes = [len(rootlist._read_rows(directory, block)) for block in blocks]
    assert all(0 < size <= rootlist.BLOCK_MAX for size in sizes)
    assert len(blocks) > 12 - 4  # blocks of the quarantined names went, the grown one split
    shelves = rootlist.read_manifest(directory).shelves
    shelf_sizes = [len(rootlist._read_json(directory, f"{shelf}.shelf")) for _, shelf in shelves]
    assert all(0 < size <= rootlist.SHELF_MAX for size in shelf_sizes)
    assert len(list(directory.iterdir())) == 1 + len(shelves) + 3 * len(blocks)  # none stale


def test_a_change_whose_refresh_never_ran_is_caught_up_by_the_next(many_projects, index):
    """A crash after the commit, or a change made through another server: the journal tells."""
    journal(Project.objects.create(name="Lost", normalized_name="lost"), "create")
    assert services.refresh_root(["proj-00001"]) == 1
    json_names, html_names = served_names(index)
    assert json_names == html_names == ["Lost", *many_projects]  # before the first block


def test_the_page_is_joined_from_current_blocks_only(many_projects, monkeypatch):
    """A reader that read a manifest whose blocks were replaced meanwhile reads it again."""
    root = str(services.pages_root())
    stale_manifest = (services.pages_root() / rootlist.LIST_DIR / rootlist.MANIFEST).read_bytes()
    services.render_root()  # new blocks, the old ones removed
    reads = iter([stale_manifest])
    real_loads = rootlist.json.loads
    monkeypatch.setattr(rootlist.json, "loads", lambda data: real_loads(next(reads, data)))
    _, body, _ = rootlist.assemble(root, "index.json")
    assert body == rootlist.whole_page(rootlist.listed_rows(), last_serial(), "index.json")


def test_a_list_that_lost_a_block_is_rebuilt(many_projects, index, committed):
    directory = services.pages_root() / rootlist.LIST_DIR
    (directory / f"{block_ids(directory)[3]}.json").unlink()
    json_names, html_names = served_names(index)  # the read path rebuilds it
    assert json_names == html_names == many_projects
    (directory / f"{block_ids(directory)[0]}.rows").unlink()
    with committed():
        factory.make_project("Proj_00000.5")  # the next read finds the block gone and rebuilds
    assert served_names(index)[0][:2] == ["Proj_00000", "Proj_00000.5"]


def test_a_manifest_that_cannot_be_marked_stale_is_removed(many_projects, index, monkeypatch):
    """Another account's manifest cannot take the mark: then the list is rebuilt, never stale."""

    def not_the_owner(path, ns):
        raise PermissionError(1, "Operation not permitted", path)

    Project.objects.create(name="Proj_00000.5", normalized_name="proj-00000-5")
    journal(Project.objects.get(normalized_name="proj-00000-5"), "create")
    monkeypatch.setattr(rootlist.os, "utime", not_the_owner)
    rootlist.mark_stale(services.live_root())
    monkeypatch.undo()
    assert not rootlist.is_fresh(services.live_root())
    assert served_names(index)[0][:2] == ["Proj_00000", "Proj_00000.5"]
