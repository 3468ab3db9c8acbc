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
