"""Migration 0004 vouches for existing publishers whose adder has a second factor now."""

from importlib import import_module

import pytest
from django.apps import apps

from bastion import authz
from bastion.publishing import services
from bastion.publishing.models import Publisher

pytestmark = pytest.mark.django_db

backfill = import_module("bastion.publishing.migrations.0004_publisher_added_with_second_factor")


def _publisher(project, workflow, actor):
    return services.add_publisher(
        actor=actor, project=project, kind="github", repository="octo/w", workflow=workflow
    )


def test_publishers_of_the_operator_and_of_adders_with_a_factor_are_vouched_for(
    make_project, make_user, enrol_totp
):
    with_factor, without = make_user("bob"), make_user("carol")
    widget = make_project("widget", owners=[with_factor, without])
    enrol_totp(with_factor)
    by_operator = _publisher(widget, "a.yml", authz.Actor.operator())
    by_bob = _publisher(widget, "b.yml", authz.Actor(with_factor))
    by_carol = _publisher(widget, "c.yml", authz.Actor(without))
    Publisher.objects.update(added_with_second_factor=False)  # as the new column starts

    backfill.vouch_for_publishers_whose_adder_has_a_second_factor(apps, None)

    vouched = dict(Publisher.objects.values_list("pk", "added_with_second_factor"))
    assert vouched == {by_operator.pk: True, by_bob.pk: True, by_carol.pk: False}
