"""Rendering the page tree: a full export, repair, and failures that must not go unnoticed."""

import json

from bastion.packaging.models import Project
from bastion.packaging.services import journal
from bastion.simple import render, services
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


def test_a_failed_render_removes_the_stale_pages(holy_grail, index, monkeypatch):
    def broken(project):
        raise OSError("disk full")

    monkeypatch.setattr(render, "project_document", broken)
    journal(holy_grail, "a change whose pages fail to render")
    services.refresh_after_change(normalized_name="holy-grail")  # logs, does not raise
    assert not (services.pages_root() / "holy-grail" / "index.html").exists()
    monkeypatch.undo()
    assert index.get("/simple/holy-grail/").status == 200  # rendered afresh on the next read


def test_one_change_announced_three_times_renders_once(holy_grail, monkeypatch):
    """An upload journals project, release and file; the pages of one serial are rendered once."""
    journal(holy_grail, "add a file")
    services.refresh_after_change(normalized_name="holy-grail")
    renders = []
    monkeypatch.setattr(services, "render_project", lambda name: renders.append(name))
    monkeypatch.setattr(render, "root_entries_html", counted(render.root_entries_html, renders))
    services.refresh_after_change(normalized_name="holy-grail")
    services.refresh_after_change(normalized_name="holy-grail")
    assert renders == []
    journal(holy_grail, "yank a release")
    services.refresh_after_change(normalized_name="holy-grail")
    assert renders == ["holy-grail", "/"]


def counted(render_fragment, renders: list):
    """``render_fragment`` (a block of the project list), noting each call as ``"/"``."""

    def render_and_count(rows):
        renders.append("/")
        return render_fragment(rows)

    return render_and_count
