"""Readers that find the same page stale at once render it once, and all serve the new page.

A change only marks its pages stale (``services.mark_stale``); the first read renders them under
the page directory's lock, and the readers queued behind it find them current.
"""

import threading
import time

import pytest

from bastion.packaging.services import journal
from bastion.simple import render, services
from bastion.simple.readpath import ReadPath
from bastion.wsgi import django_application
from tests.simple import factory
from tests.simple.wsgi_client import WSGIClient

pytestmark = pytest.mark.django_db(transaction=True)  # the readers' threads see the rows

READERS = 4
JSON = "application/vnd.pypi.simple.v1+json"


def slow_and_counted(render_function, renders: list):
    """``render_function``, counted, and slow enough that every reader finds the page stale
    before the first render is written."""

    def render_slowly(*args):
        renders.append(1)
        time.sleep(0.3)
        return render_function(*args)

    return render_slowly


def read_at_once(path: str) -> list:
    """``path`` read by ``READERS`` threads at the same moment, each through its own worker's
    read path (as separate processes would); the answers."""
    start = threading.Barrier(READERS)
    answers: list = [None] * READERS

    def read(number: int) -> None:
        client = WSGIClient(ReadPath(django_application))
        start.wait()
        answers[number] = client.get(path, accept=JSON)

    threads = [threading.Thread(target=read, args=(number,)) for number in range(READERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


@pytest.fixture
def changed_project(db):
    """A project whose pages were rendered, then changed (its pages marked stale)."""
    project = factory.make_project("Holy_Grail")
    factory.make_file(factory.make_release(project, "1.0"))
    services.refresh_project("holy-grail")
    services.refresh_root()
    factory.make_file(factory.make_release(project, "2.0"))
    journal(project, "add 2.0")
    services.mark_stale(normalized_name="holy-grail")
    return project


def test_concurrent_reads_of_a_stale_project_page_render_it_once(changed_project, monkeypatch):
    renders: list = []
    monkeypatch.setattr(
        render, "project_document", slow_and_counted(render.project_document, renders)
    )
    answers = read_at_once("/simple/holy-grail/")
    assert [answer.status for answer in answers] == [200] * READERS
    assert all(answer.json()["versions"] == ["1.0", "2.0"] for answer in answers)
    assert len({answer.body for answer in answers}) == 1
    assert len(renders) == 1


def test_concurrent_reads_of_a_stale_project_list_render_its_block_once(
    changed_project, monkeypatch
):
    renders: list = []
    monkeypatch.setattr(
        render, "root_entries_json", slow_and_counted(render.root_entries_json, renders)
    )
    answers = read_at_once("/simple/")
    serial = str(changed_project.last_serial)
    assert [answer.header("X-PyPI-Last-Serial") for answer in answers] == [serial] * READERS
    assert all(answer.json()["projects"][0]["name"] == "Holy_Grail" for answer in answers)
    assert len(renders) == 1
