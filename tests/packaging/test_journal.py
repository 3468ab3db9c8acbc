"""The journal announces a project's change once per transaction, and never loses it."""

import pytest
from django.db import transaction

from bastion.packaging import services
from bastion.packaging.signals import project_changed

pytestmark = pytest.mark.django_db


@pytest.fixture
def announced():
    names = []

    def count(normalized_name, **_kwargs):
        names.append(normalized_name)

    project_changed.connect(count, dispatch_uid="test-journal-count")
    yield names
    project_changed.disconnect(dispatch_uid="test-journal-count")


def test_entries_of_one_transaction_are_announced_once(
    make_project, announced, django_capture_on_commit_callbacks
):
    grail, spam = make_project("holy-grail"), make_project("spam")
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        services.journal(grail, "new release", version="1.0")
        services.journal(spam, "new release", version="1.0")
        services.journal(grail, "add py3 file holy_grail-1.0-py3-none-any.whl", version="1.0")

    assert sorted(announced) == ["holy-grail", "spam"]


def test_a_rolled_back_savepoint_keeps_the_announcement_made_before_it(
    make_project, announced, django_capture_on_commit_callbacks
):
    grail = make_project("holy-grail")
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        services.journal(grail, "new release", version="1.0")
        with pytest.raises(RuntimeError), transaction.atomic():
            services.journal(grail, "add py3 file holy_grail-1.0-py3-none-any.whl", version="1.0")
            raise RuntimeError

    assert announced == ["holy-grail"]


def test_a_status_read_under_the_lock_travels_with_the_announcement(
    make_project, django_capture_on_commit_callbacks
):
    grail = make_project("holy-grail")
    heard = []

    def listen(normalized_name, status, **_kwargs):
        heard.append((normalized_name, status))

    project_changed.connect(listen, dispatch_uid="test-journal-status")
    try:
        with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
            services.journal(grail, "create")
            services.journal_all(grail, [("new release", "1.0")], status=grail.status)
        with django_capture_on_commit_callbacks(execute=True):
            services.journal(grail, "yank", version="1.0")  # status not read: not passed
    finally:
        project_changed.disconnect(dispatch_uid="test-journal-status")

    assert heard == [("holy-grail", "active"), ("holy-grail", "")]


def test_files_are_placed_for_a_passed_status_without_reading_it(
    make_project, django_assert_num_queries, monkeypatch
):
    make_project("holy-grail")
    restored = []
    monkeypatch.setattr(services.storage, "restore", restored.append)

    with django_assert_num_queries(0):
        services.place_files_for_status(normalized_name="holy-grail", status="active")
    with django_assert_num_queries(1):  # a change that did not read it: read now
        services.place_files_for_status(normalized_name="holy-grail")
    with django_assert_num_queries(1):
        services.place_files_for_status(normalized_name="gone")  # deleted: nothing to place

    assert restored == ["holy-grail", "holy-grail"]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_serials_follow_commit_order(make_project):
    """A change that took its serial first commits first: a later writer waits for it. Else a
    transaction that journals, then commits late (an upload copying a large file into object
    storage), would be behind the serial that every reader has already passed."""
    from threading import Event, Thread

    from django.db import connection

    late, early = make_project("late"), make_project("early")
    journalled, release, early_done = Event(), Event(), Event()
    serials = {}

    def in_thread(name, project, before_commit=None):
        try:
            with transaction.atomic():
                serials[name] = services.journal(project, "change")
                if before_commit:
                    before_commit()
        finally:
            connection.close()
        if name == "early":
            early_done.set()

    holding = Thread(
        target=in_thread,
        args=("late", late, lambda: (journalled.set(), release.wait(10))),
    )
    holding.start()
    assert journalled.wait(10)
    waiting = Thread(target=in_thread, args=("early", early))
    waiting.start()

    committed_meanwhile = early_done.wait(0.5)
    release.set()
    holding.join(10)
    waiting.join(10)

    assert not committed_meanwhile, "a later writer committed while an earlier serial was open"
    assert serials["late"] < serials["early"]
    assert services.last_serial() == serials["early"]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_writer_holding_the_project_row_and_one_journalling_it_do_not_deadlock(make_project):
    """An upload locks its project's row, records, then journals; a yank journals the same
    project meanwhile. The yank must wait for the row before it takes the journal's lock."""
    from threading import Event, Thread

    from django.db import connection

    from bastion.packaging.models import Project

    spam = make_project("spam")
    row_locked, errors, serials = Event(), [], {}

    def run(name, body):
        try:
            with transaction.atomic():
                serials[name] = body()
        except Exception as exc:  # a deadlock is raised in one of the two
            errors.append(exc)
        finally:
            connection.close()

    def upload():
        Project.objects.select_for_update().get(pk=spam.pk)
        row_locked.set()
        yank_thread.join(0.5)  # the yank is now waiting, holding whatever it took first
        return services.journal(spam, "add file")

    yank_thread = Thread(
        target=lambda: (row_locked.wait(10), run("yank", lambda: services.journal(spam, "yank")))
    )
    upload_thread = Thread(target=run, args=("upload", upload))
    yank_thread.start()
    upload_thread.start()
    upload_thread.join(20)
    yank_thread.join(20)

    assert errors == []
    assert serials["upload"] < serials["yank"]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_yank_and_an_upload_into_the_same_release_do_not_deadlock(make_project):
    """Review finding: a yank saved the release's row and then journalled (the project's row),
    while an upload locks the project's row and then the release's: a deadlock."""
    from threading import Thread

    from django.db import connection

    from bastion import authz
    from bastion.authz import management
    from bastion.packaging.models import Project, Release
    from tests.simple import factory

    spam = make_project("spam")
    release = factory.make_release(spam, "1.0")
    errors = []

    def run(body):
        try:
            with transaction.atomic():
                body()
        except Exception as exc:  # a deadlock is raised in one of the two
            errors.append(exc)
        finally:
            connection.close()

    def yank():
        management.set_yanked(
            actor=authz.Actor.operator(), project=spam, version="1.0", yanked=True
        )

    def upload():  # as upload._record: the project's row, then the release's, then the journal
        Project.objects.select_for_update().get(pk=spam.pk)
        yank_thread.start()
        yank_thread.join(0.5)  # the yank is now waiting, holding whatever it took first
        list(Release.objects.select_for_update().filter(pk=release.pk))
        services.journal(spam, "add file", version="1.0")

    yank_thread = Thread(target=run, args=(yank,))
    upload_thread = Thread(target=run, args=(upload,))
    upload_thread.start()
    upload_thread.join(20)
    yank_thread.join(20)

    assert errors == []
    assert Release.objects.get(pk=release.pk).yanked
