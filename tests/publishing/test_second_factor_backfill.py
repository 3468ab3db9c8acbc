"""Migration 0004 vouches for existing publishers whose adder has a second factor now."""

from importlib import import_module

import pytest
from django.apps import apps

from bastion import authz
from bastion.publishing.models import Publisher
from tests.publishing.conftest import publish_from_octo_widget

pytestmark = pytest.mark.django_db

backfill = import_module("bastion.publishing.migrations.0004_publisher_added_with_second_factor")


def test_publishers_of_the_operator_and_of_adders_with_a_factor_are_vouched_for(
    make_project, make_user, enrol_totp
):
    with_factor, without = make_user("bob"), make_user("carol")
    widget = make_project("widget", owners=[with_factor, without])
    enrol_totp(with_factor)
    by_operator = publish_from_octo_widget(widget, workflow="a.yml")
    by_bob = publish_from_octo_widget(widget, actor=authz.Actor(with_factor), workflow="b.yml")
    by_carol = publish_from_octo_widget(widget, actor=authz.Actor(without), workflow="c.yml")
    Publisher.objects.update(added_with_second_factor=False)  # as the new column starts

    backfill.vouch_for_publishers_whose_adder_has_a_second_factor(apps, None)

    vouched = dict(Publisher.objects.values_list("pk", "added_with_second_factor"))
    assert vouched == {by_operator.pk: True, by_bob.pk: True, by_carol.pk: False}
