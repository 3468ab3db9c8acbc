"""Two uploads racing for one filename: exactly one wins, the other is answered as a duplicate.

The first tests replay the race deterministically, on any database: the rival upload completes
while the loser sits between its checks and its commit, so only the unique constraints can catch
it. The threaded tests run it for real on PostgreSQL; Django's SQLite test database lives in
shared-cache memory, where a second writer fails at once instead of waiting its turn.
"""

import threading

import pytest
from django.db import connection

from bastion.packaging.models import File, Project, Release
from bastion.upload import services
from tests.upload import dists


@pytest.fixture
def rival_commits_first(monkeypatch, uploader):
    """While the next upload stores its bytes, ``rival`` is uploaded start to finish."""

    def arrange(rival: dists.Dist):
        store = services._store
        responses = []

        def store_after_rival(upload, content):
            monkeypatch.setattr(services, "_store", store)
            responses.append(uploader.upload(rival.form()))
            store(upload, content)

        monkeypatch.setattr(services, "_store", store_after_rival)
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


@pytest.mark.django_db
def test_loser_of_an_identical_race_succeeds_without_a_second_file(uploader, rival_commits_first):
    rival = rival_commits_first(dists.wheel())

    response = uploader.upload(dists.wheel().form())

    assert (rival[0].status_code, response.status_code) == (200, 200)
    assert File.objects.count() == 1


@pytest.mark.django_db
def test_project_created_by_a_rival_is_reused(uploader, rival_commits_first):
    rival = rival_commits_first(dists.sdist())

    response = uploader.upload(dists.wheel().form())

    assert (rival[0].status_code, response.status_code) == (200, 200), response.reason_phrase
    assert (Project.objects.count(), Release.objects.count(), File.objects.count()) == (1, 1, 2)


def _race(monkeypatch, uploader, first: dists.Dist, second: dists.Dist) -> list:
    """Post both uploads from two threads, each on its own database connection, held just
    before storing their bytes until the other arrives."""
    barrier = threading.Barrier(2, timeout=30)
    store = services._store

    def store_together(upload, content):
        barrier.wait()
        store(upload, content)

    monkeypatch.setattr(services, "_store", store_together)
    responses = []

    def post(dist: dists.Dist):
        try:
            responses.append(uploader.upload(dist.form()))
        finally:
            connection.close()

    threads = [threading.Thread(target=post, args=(dist,)) for dist in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
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
