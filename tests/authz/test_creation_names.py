"""A new project's name is checked against every existing one without reading them all."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from bastion.authz import creation
from bastion.packaging.services import PackagingError

pytestmark = pytest.mark.django_db


def test_a_look_alike_of_an_existing_project_is_refused(make_project):
    make_project("holy-grail")

    with pytest.raises(PackagingError, match="too similar to an existing project"):
        creation.validate_new_project_name("ho1y.grai1")
    creation.validate_new_project_name("holy-grails")


@pytest.mark.skipif(connection.vendor != "sqlite", reason="reads SQLite's query plans")
def test_looking_for_a_look_alike_uses_the_index_not_a_scan(make_project):
    """At 500,000 projects a scan costs about 300 ms of CPU on every new project."""
    make_project("holy-grail")
    with CaptureQueriesContext(connection) as queries, pytest.raises(PackagingError):
        creation.validate_new_project_name("ho1y.grai1")
    [lookup] = [query["sql"] for query in queries if '"packaging_project"' in query["sql"]]
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN QUERY PLAN " + lookup)
        plans = [row[-1] for row in cursor.fetchall()]

    assert any("USING INDEX project_ultranormalized" in plan for plan in plans), plans
