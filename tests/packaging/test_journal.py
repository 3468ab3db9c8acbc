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
