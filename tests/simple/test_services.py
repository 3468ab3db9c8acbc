"""Rendering the page tree: a full export, repair, and failures that must not go unnoticed."""

import json

from bastion.packaging.models import Project
from bastion.packaging.services import journal
from bastion.simple import render, rootlist, services
from tests.simple import factory


def test_render_all_writes_a_static_tree(holy_grail, committed, tmp_path):
    with committed():
        factory.make_project("Other")
    target = tmp_path / "export"
    assert services.render_all(target) == 2
    simple = target / "simple"
    assert json.loads((simple / "index.json").read_bytes())["projects"][0]["name"] == "Holy_Grail"
    assert b'href="/simple/other/"' in (simple / "index.html").read_bytes()
    for name in ("holy-grail", "other"):
        assert json.loads((simple / name / "index.json").read_bytes())["name"] == name
        assert b"<!DOCTYPE html>" in (simple / name / "index.html").read_bytes()


def test_render_all_matches_the_pages_rendered_per_change(holy_grail, tmp_path):
    services.render_all(tmp_path / "export")
    for page in ("index.html", "index.json"):
        live = services.pages_root() / "holy-grail" / page
        assert (
            tmp_path / "export" / "simple" / "holy-grail" / page
        ).read_bytes() == live.read_bytes()


def test_render_all_drops_pages_of_deleted_projects(holy_grail, tmp_path):
    target = tmp_path / "export"
    services.render_all(target)
    Project.objects.filter(pk=holy_grail.pk).delete()
    assert services.render_all(target) == 0
    assert not (target / "simple" / "holy-grail" / "index.html").exists()
    assert json.loads((target / "simple" / "index.json").read_bytes())["projects"] == []


def test_render_project_of_deleted_project_removes_its_pages(holy_grail, index):
    Project.objects.filter(pk=holy_grail.pk).delete()
    assert services.render_project("holy-grail") is False
    assert not (services.pages_root() / "holy-grail" / "index.json").exists()
    assert index.get("/simple/holy-grail/").status == 404


def test_a_change_marks_its_pages_stale_and_renders_nothing(holy_grail, index, monkeypatch):
    """Pages are rendered on the first read after a change, once, not by the change."""
    renders = []
    monkeypatch.setattr(
        render, "project_document", counted(render.project_document, renders, "project")
    )
    monkeypatch.setattr(
        render, "root_entries_html", counted(render.root_entries_html, renders, "list")
    )
    journal(holy_grail, "add a file")
    services.mark_stale(normalized_name="holy-grail")
    services.mark_stale(normalized_name="holy-grail")  # announced again: still nothing rendered
    assert renders == []
    assert not (services.pages_root() / "holy-grail" / "index.html").exists()
    assert not rootlist.is_fresh(services.live_root())
    for _ in range(2):
        for accept in ("text/html", "application/vnd.pypi.simple.v1+json"):
            for path in ("/simple/holy-grail/", "/simple/"):
                page = index.get(path, accept=accept)
                assert page.header("X-PyPI-Last-Serial") == str(holy_grail.last_serial)
    assert renders == ["project", "list"]  # once for both formats and every later read


def test_a_page_that_cannot_be_marked_stale_does_not_fail_the_change(
    holy_grail, monkeypatch, caplog
):
    """The change is committed: a failure after it is logged, not raised into the request."""

    def broken(simple_dir):
        raise OSError("read-only file system")

    monkeypatch.setattr(rootlist, "mark_stale", broken)
    services.mark_stale(normalized_name="holy-grail")
    assert "could not mark the simple pages of holy-grail stale" in caplog.text


def test_render_project_renders_again_if_the_serial_moved_meanwhile(holy_grail, monkeypatch):
    """A change may commit, and remove the pages, between a render's read and its write."""
    real_document = render.project_document
    documents = []

    def change_meanwhile(project):
        document = real_document(project)
        if not documents:  # the first render read the rows before this change
            journal(holy_grail, "yank a release")
            services.mark_stale(normalized_name="holy-grail")
        documents.append(document)
        return document

    monkeypatch.setattr(render, "project_document", change_meanwhile)
    journal(holy_grail, "add a file")
    services.mark_stale(normalized_name="holy-grail")
    assert services.refresh_project("holy-grail")
    assert len(documents) == 2
    holy_grail.refresh_from_db()
    page = json.loads((services.pages_root() / "holy-grail" / "index.json").read_bytes())
    assert page["meta"]["_last-serial"] == holy_grail.last_serial


def counted(render_function, renders: list, note: str):
    """``render_function``, noting each call as ``note``."""

    def render_and_count(*args):
        renders.append(note)
        return render_function(*args)

    return render_and_count
