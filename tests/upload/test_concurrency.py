"""Two uploads racing for one filename: exactly one wins, the other is answered as a duplicate.

The first tests replay the race deterministically, on any database: the rival upload completes
while the loser sits between its checks and its commit, so only the unique constraints can catch
it. The threaded tests run it for real on PostgreSQL; Django's SQLite test database lives in
shared-cache memory, where a second writer fails at once instead of waiting its turn.
"""

import threading

import pytest
from django.conf import settings
from django.db import connection

from bastion.packaging import storage
from bastion.packaging.models import File, Project, Release
from bastion.simple import files
from bastion.simple.replies import FileBody
from bastion.upload import services
from tests.upload import dists
from tests.upload.conftest import stored_files


def assert_only_committed_files_stored() -> None:
    """Every stored file has its row (and every row its file); nothing is left in staging."""
    keys = {path for file in File.objects.all() for path in (file.path, file.metadata_path) if path}
    root = settings.FILES_DIR
    assert {str(path.relative_to(root)) for path in stored_files()} == keys
    assert list(settings.UPLOAD_STAGING_DIR.iterdir()) == []


def served(key: str) -> int:
    reply = files.serve({"REQUEST_METHOD": "HEAD"}, key)
    if isinstance(reply.body, FileBody):
        reply.body.close()
    return reply.status


@pytest.fixture
def rival_commits_first(monkeypatch, uploader):
    """While the next upload stores its bytes, ``rival`` is uploaded start to finish."""

    def arrange(rival: dists.Dist):
        store = services._stage
        responses = []

        def store_after_rival(upload, content):
            monkeypatch.setattr(services, "_stage", store)
            responses.append(uploader.upload(rival.form()))
            return store(upload, content)

        monkeypatch.setattr(services, "_stage", store_after_rival)
        return responses

    return arrange


@pytest.mark.django_db
def test_loser_of_a_filename_race_gets_file_already_exists(uploader, rival_commits_first):
    rival = rival_commits_first(dists.wheel(headers=[("Summary", "rival")]))

    response = uploader.upload(dists.wheel(headers=[("Summary", "mine")]).form())

    assert rival[0].status_code == 200
    assert response.status_code == 400
    assert response.reason_phrase.startswith("File already exists")
    assert File.objects.get().release.summary == "rival"
    assert_only_committed_files_stored()


@pytest.mark.django_db
def test_loser_of_an_identical_race_succeeds_without_a_second_file(uploader, rival_commits_first):
    rival = rival_commits_first(dists.wheel())

    response = uploader.upload(dists.wheel().form())

    assert (rival[0].status_code, response.status_code) == (200, 200)
    assert File.objects.count() == 1
    assert_only_committed_files_stored()  # the shared key stays: the rival's row owns it


@pytest.mark.django_db
def test_project_created_by_a_rival_is_reused(uploader, rival_commits_first):
    rival = rival_commits_first(dists.sdist())

    response = uploader.upload(dists.wheel().form())

    assert (rival[0].status_code, response.status_code) == (200, 200), response.reason_phrase
    assert (Project.objects.count(), Release.objects.count(), File.objects.count()) == (1, 1, 2)


@pytest.mark.django_db
def test_loser_of_a_second_sdist_race_is_refused_and_publishes_nothing(
    uploader, rival_commits_first
):
    """ "One sdist per release" is checked under the release's lock, as the rows are written, so
    an sdist committed by a rival after this upload's checks still decides it."""
    assert uploader.upload(dists.wheel(version="1.0").form()).status_code == 200
    rival = rival_commits_first(dists.sdist(version="1.0"))

    response = uploader.upload(dists.sdist(version="1.0.0").form())

    assert rival[0].status_code == 200
    assert response.status_code == 400
    assert response.reason_phrase == "Only one sdist may be uploaded per release."
    assert File.objects.filter(packagetype="sdist").count() == 1
    assert_only_committed_files_stored()


def _race(monkeypatch, uploader, *contenders: dists.Dist) -> list:
    """Post every upload from its own thread, each on its own database connection, all held just
    before storing their bytes until the last one arrives."""
    barrier = threading.Barrier(len(contenders), timeout=60)
    # Every contender must reach the race, not be told to come back later (upload.admission).
    monkeypatch.setattr(settings, "UPLOADS_IN_FLIGHT", len(contenders))
    monkeypatch.setattr(settings, "UPLOADS_IN_FLIGHT_PER_ADDRESS", len(contenders))
    store = services._stage

    def store_together(upload, content):
        barrier.wait()
        return store(upload, content)

    monkeypatch.setattr(services, "_stage", store_together)
    responses = []

    def post(dist: dists.Dist):
        try:
            responses.append(uploader.upload(dist.form()))
        finally:
            connection.close()

    threads = [threading.Thread(target=post, args=(dist,)) for dist in contenders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    return responses


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_uploads_of_one_filename_have_one_winner(monkeypatch, uploader):
    first = dists.wheel(headers=[("Summary", "first")])
    second = dists.wheel(headers=[("Summary", "second")])

    responses = _race(monkeypatch, uploader, first, second)

    assert sorted(r.status_code for r in responses) == [200, 400], [
        r.reason_phrase for r in responses
    ]
    loser = next(r for r in responses if r.status_code == 400)
    assert loser.reason_phrase.startswith("File already exists")
    assert (Project.objects.count(), Release.objects.count(), File.objects.count()) == (1, 1, 1)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_identical_uploads_store_one_file(monkeypatch, uploader):
    responses = _race(monkeypatch, uploader, dists.wheel(), dists.wheel())

    assert [r.status_code for r in responses] == [200, 200]
    assert File.objects.count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_first_files_of_a_new_project_share_it(monkeypatch, uploader):
    responses = _race(monkeypatch, uploader, dists.wheel(), dists.sdist())

    assert [r.status_code for r in responses] == [200, 200], [r.reason_phrase for r in responses]
    assert (Project.objects.count(), Release.objects.count(), File.objects.count()) == (1, 1, 2)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_twenty_parallel_uploads_of_one_filename_leave_one_file_and_no_orphan(
    monkeypatch, uploader
):
    contenders = [dists.wheel(headers=[("Summary", f"contender {n}")]) for n in range(20)]

    responses = _race(monkeypatch, uploader, *contenders)

    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] + [400] * 19, [r.reason_phrase for r in responses]
    assert all(
        r.reason_phrase.startswith("File already exists") for r in responses if r.status_code != 200
    )
    winner = File.objects.get()
    assert_only_committed_files_stored()
    for contender in contenders:
        key = storage.key_for(contender.blake2_256, contender.filename)
        expected = 200 if key == winner.path else 404
        assert (served(key), served(key + ".metadata")) == (expected, expected)


@pytest.mark.django_db
def test_a_project_quarantined_before_the_commit_refuses_the_upload(monkeypatch, uploader):
    """The gate said yes to an active project; it was quarantined while the archive was read,
    so the upload asks again under the project's lock, is refused, and publishes nothing."""
    assert uploader.upload(dists.wheel(version="1.0").form()).status_code == 200
    store = services._stage

    def quarantine_meanwhile(upload, content):
        Project.objects.filter(normalized_name="holy-grail").update(status="quarantined")
        return store(upload, content)

    monkeypatch.setattr(services, "_stage", quarantine_meanwhile)

    response = uploader.upload(dists.wheel(version="2.0").form())

    assert response.status_code == 403
    assert "does not accept uploads" in response.reason_phrase
    assert Release.objects.count() == File.objects.count() == 1
    assert_only_committed_files_stored()
