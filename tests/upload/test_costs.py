"""What one upload costs the database and the gate, so that neither creeps back up.

An upload asks the gate once before its body is read (the account and the token: see
test_admission.py) and once about its project, then passes that decision along to the rows it
writes. The query budgets count everything the request does, including what runs after the
commit (the project page, the project list): issue 18 measured uploads at 45 to 90 queries.
"""

import pytest
from django.db import connection

from bastion import authz
from bastion.packaging.models import File
from tests.upload import dists
from tests.upload.conftest import basic_auth

pytestmark = pytest.mark.django_db

#: Queries of a first upload that creates its project: the token and its first use, the rate
#: limits (a table in tests: a read, or one statement to count and one to read the window
#: before, the first count of a bucket adding its row), the name's checks, the gate's facts (one
#: statement with the name's designation), one duplicate check, the project (its hosted name
#: recorded with it), its owner, release (not looked for first in a project just created) and
#: file rows, the journal (one insert per step) and the security events; nothing after the commit
#: reads the database (the status read under the lock travels with the announcement). 105 before
#: issue 18, 80 after the gate was asked once, 56 before the gate's, the rate limits' and the
#: upload's own queries were cut.
FIRST_UPLOAD_QUERIES = 39
#: Queries of a second file of an existing release, the token's use already recorded within the
#: minute: as above without the name's checks and the project's creation; the project re-read as
#: its key, the release with its "one sdist" check in one query. 45 before issue 18, 40 after the
#: gate was asked once, 24 before the gate's, the rate limits' and the upload's own cuts.
LATER_UPLOAD_QUERIES = 17


def on_this_database(queries: int, journalling_steps: int) -> int:
    """PostgreSQL adds one statement per journalling step (a new project's, then the file's):
    the lock that keeps serials in commit order (``packaging.services``)."""
    return queries + (journalling_steps if connection.vendor == "postgresql" else 0)


@pytest.fixture
def gate_questions(monkeypatch) -> list[tuple[str, str | None]]:
    """Every question the gate is asked: the action, and the project's name (None for none)."""
    questions = []
    answer = authz.may

    def asked(actor, action, project=None):
        questions.append((action, project.normalized_name if project is not None else None))
        return answer(actor, action, project)

    monkeypatch.setattr(authz, "may", asked)
    return questions


@pytest.fixture
def upload_counted(uploader, django_assert_max_num_queries, django_capture_on_commit_callbacks):
    """Upload ``dist`` within ``budget`` queries, counting what runs after the commit too."""

    def upload(dist: dists.Dist, budget: int):
        form, token = dist.form(), basic_auth("__token__", uploader.secret)
        with (
            django_assert_max_num_queries(budget),
            django_capture_on_commit_callbacks(execute=True),
        ):
            response = uploader.client.post("/legacy/", form, HTTP_AUTHORIZATION=token)
        assert response.status_code == 200, response.reason_phrase
        return response

    return upload


def test_a_first_upload_asks_the_gate_once_about_creating_the_project(
    upload_counted, gate_questions
):
    upload_counted(dists.wheel("holy-grail", "1.0"), on_this_database(FIRST_UPLOAD_QUERIES, 2))

    assert gate_questions == [
        (authz.Action.UPLOAD, None),  # before the body: may this token upload at all?
        (authz.Action.CREATE_PROJECT, "holy-grail"),
    ]


def test_an_upload_to_an_existing_release_asks_the_gate_once_about_the_project(
    upload_counted, gate_questions
):
    upload_counted(dists.wheel("holy-grail", "1.0"), on_this_database(FIRST_UPLOAD_QUERIES, 2))
    gate_questions.clear()

    upload_counted(dists.sdist("holy-grail", "1.0"), on_this_database(LATER_UPLOAD_QUERIES, 1))

    assert gate_questions == [(authz.Action.UPLOAD, None), (authz.Action.UPLOAD, "holy-grail")]
    assert File.objects.filter(release__project__normalized_name="holy-grail").count() == 2


def test_a_project_created_meanwhile_is_a_new_question_for_the_gate(
    uploader, gate_questions, monkeypatch
):
    """The decision was about creating the project; a rival created it first, so the upload
    goes into the rival's project only if the gate allows uploading there."""
    from bastion.upload import services

    stage = services._stage

    def rival_creates_the_project(upload, content):
        monkeypatch.setattr(services, "_stage", stage)
        assert uploader.upload(dists.wheel("holy-grail", "1.0").form()).status_code == 200
        return stage(upload, content)

    monkeypatch.setattr(services, "_stage", rival_creates_the_project)

    response = uploader.upload(dists.wheel("holy-grail", "2.0").form())

    assert response.status_code == 200, response.reason_phrase
    assert gate_questions[-1] == (authz.Action.UPLOAD, "holy-grail")


def test_an_upload_announces_its_change_once(uploader, django_capture_on_commit_callbacks):
    """Four journal entries (project, owner, release, file), one re-render of the pages."""
    from bastion.packaging.signals import project_changed

    announced = []

    def count(normalized_name, **_kwargs):
        announced.append(normalized_name)

    project_changed.connect(count, dispatch_uid="test-costs-count")
    try:
        with django_capture_on_commit_callbacks(execute=True):
            assert uploader.upload(dists.wheel("holy-grail", "1.0").form()).status_code == 200
    finally:
        project_changed.disconnect(dispatch_uid="test-costs-count")

    assert announced == ["holy-grail"]
