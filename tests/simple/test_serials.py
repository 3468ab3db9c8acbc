"""Several servers, one database: a page this server rendered is served only while it is current.

A change made through another server is committed there and rendered there; here it shows only as
a newer serial in the database. The changes below are made without running the on-commit renders,
which is exactly what this server sees of a change made elsewhere.
"""

import pytest

from bastion import authz
from bastion.authz.management import set_yanked
from bastion.packaging.services import journal
from bastion.simple.readpath import ReadPath, SerialCheck
from bastion.wsgi import django_application
from tests.simple import factory
from tests.simple.wsgi_client import WSGIClient

JSON = "application/vnd.pypi.simple.v1+json"


@pytest.fixture
def follows_serial(db):
    return WSGIClient(ReadPath(django_application, serials=SerialCheck(interval=0)))


def test_a_yank_made_elsewhere_is_served_at_once(holy_grail, follows_serial):
    before = follows_serial.get("/simple/holy-grail/", accept=JSON).json()
    assert not any(file["yanked"] for file in before["files"] if "1.0" in file["filename"])

    set_yanked(
        actor=authz.Actor.operator(),
        project=holy_grail,
        version="1.0",
        yanked=True,
        reason="broken",
    )

    after = follows_serial.get("/simple/holy-grail/", accept=JSON)
    assert int(after.header("X-PyPI-Last-Serial")) == before["meta"]["_last-serial"] + 1
    assert all(file["yanked"] for file in after.json()["files"])


def test_a_project_created_elsewhere_is_in_the_list_at_once(holy_grail, follows_serial):
    assert "new-project" not in follows_serial.get("/simple/").body.decode()
    factory.make_project("new-project")
    assert "new-project" in follows_serial.get("/simple/").body.decode()


def test_a_deleted_project_is_gone_at_once(holy_grail, follows_serial):
    assert follows_serial.get("/simple/holy-grail/").status == 200
    journal(holy_grail, "remove project")  # as authz.management.delete_project does
    holy_grail.delete()
    assert follows_serial.get("/simple/holy-grail/").status == 404


def test_an_unchanged_index_is_checked_once_per_interval(
    holy_grail, django_assert_num_queries, index
):
    cached = WSGIClient(ReadPath(django_application, serials=SerialCheck(interval=3600)))
    cached.get("/simple/holy-grail/")
    with django_assert_num_queries(0):
        for _ in range(3):
            assert cached.get("/simple/holy-grail/").status == 200
