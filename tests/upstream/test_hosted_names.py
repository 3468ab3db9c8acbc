"""A name hosted here is recorded for good, in the very transaction that saves its project."""

import pytest
from django.db import transaction

from bastion.packaging.models import Project
from bastion.upstream.models import HostedName
from tests import factories as factory

pytestmark = pytest.mark.django_db(transaction=True)


def _hosted() -> list[str]:
    return list(HostedName.objects.values_list("normalized_name", flat=True))


def test_a_new_project_s_name_commits_with_it_before_anything_runs_after_the_commit():
    with transaction.atomic():
        factory.make_project("Holy_Grail")
        assert _hosted() == ["holy-grail"]  # recorded inside the creating transaction


def test_a_rolled_back_creation_records_no_name():
    with pytest.raises(RuntimeError), transaction.atomic():
        factory.make_project("holy-grail")
        raise RuntimeError("the upload was refused after all")

    assert _hosted() == []


def test_a_renamed_project_s_new_name_is_hosted_too_and_the_old_one_stays():
    project = factory.make_project("holy-grail")
    project.name = project.normalized_name = "grail"
    project.save()

    assert sorted(_hosted()) == ["grail", "holy-grail"]


def test_a_deleted_and_recreated_name_is_recorded_once():
    factory.make_project("holy-grail").delete()
    factory.make_project("holy-grail")

    assert _hosted() == ["holy-grail"]
    assert Project.objects.count() == 1


def test_a_change_after_the_commit_reads_no_hosted_name(django_assert_num_queries):
    """With no upstream configured, announcing a change costs the upstream app nothing."""
    from bastion.upstream.services import forget_when_hosted_here

    factory.make_project("holy-grail")
    with django_assert_num_queries(0):
        forget_when_hosted_here(normalized_name="holy-grail")


def test_an_upload_s_announcement_asks_only_whether_anything_was_cached(
    django_assert_num_queries, settings
):
    """The status an upload read under the project's lock says the project is there."""
    from bastion.upstream.services import forget_when_hosted_here

    settings.UPSTREAM_URL = "http://upstream.invalid/"
    factory.make_project("holy-grail")
    with django_assert_num_queries(1):  # the upstream cache's row, nothing about the project
        forget_when_hosted_here(normalized_name="holy-grail", status="active")
    with django_assert_num_queries(2):  # a change that did not read the status: is it there?
        forget_when_hosted_here(normalized_name="holy-grail")
