"""Hand-written statements give back what the ORM would: the same instances, the same values."""

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from bastion import statements
from bastion.accounts.models import User
from bastion.tokens.models import APIToken

pytestmark = pytest.mark.django_db


def _row(model, pk):
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {statements.all_columns(connection, model)} "  # noqa: S608 - names from _meta
            f"FROM {statements.table(connection, model)} "
            f"WHERE {statements.column(connection, model, 'id')} = %s",
            [pk],
        )
        return cursor.fetchone()


def test_an_instance_from_a_row_equals_the_orms(alice):
    """Dates, booleans, addresses and nullable keys come back as the ORM converts them (SQLite
    returns datetimes as text and booleans as integers)."""
    token = APIToken.objects.create(
        user=alice,
        name="laptop",
        digest="d" * 64,
        display_prefix="bastion-abcd",
        expires=timezone.now() + timedelta(days=1),
        last_used=timezone.now(),
        last_used_ip="2001:db8::1",
        read_only=True,
    )
    orm = APIToken.objects.get(pk=token.pk)

    built = statements.instance(connection, APIToken, _row(APIToken, token.pk))

    fields = [f.attname for f in APIToken._meta.concrete_fields]
    assert [getattr(built, f) for f in fields] == [getattr(orm, f) for f in fields]
    assert built.read_only is True and built.expires.tzinfo is not None
    assert built._state.adding is False and built._state.db == connection.alias


def test_an_account_from_a_row_equals_the_orms(alice):
    orm = User.objects.get(pk=alice.pk)

    built = statements.instance(connection, User, _row(User, alice.pk))

    fields = [f.attname for f in User._meta.concrete_fields]
    assert [getattr(built, f) for f in fields] == [getattr(orm, f) for f in fields]


def test_a_row_of_another_width_is_refused(alice):
    with pytest.raises(ValueError):
        statements.instance(connection, User, _row(User, alice.pk)[:-1])


def test_a_relation_is_not_a_column(db):
    with pytest.raises(TypeError, match="not a column"):
        statements.field(User, "groups")


def test_a_missing_value_stays_missing():
    assert statements.converted(connection, APIToken, "last_used", None) is None
