"""Hand-written SQL for the few statements every upload asks, where the ORM costs more to build
a query than the database spends answering it.

Measured here (``bench/upload/run.py``): building and running a one-row SELECT cost the ORM
150 to 550 µs of CPU, while SQLite answered it in about 15 µs; an upload asked 18 statements.
Where a statement runs on every upload or every use of a token, it is written out instead, and
these helpers keep it faithful to the models: names come from the models' ``_meta`` (a renamed
column is renamed here too), values pass through the converters the ORM applies (SQLite returns
dates and booleans as text and integers), and rows become model instances through
``Model.from_db``, as the ORM's own rows do. The statements are standard SQL that SQLite and
PostgreSQL run alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Field, Model

M = TypeVar("M", bound=Model)


def field(model: type[Model], name: str) -> Field:
    """A model's concrete field, for a statement's names and its values' conversions."""
    found = model._meta.get_field(name)
    if not isinstance(found, Field) or found not in model._meta.concrete_fields:
        raise TypeError(f"{model.__name__}.{name} is not a column")  # a relation or a reverse one
    return found


def table(connection: BaseDatabaseWrapper, model: type[Model]) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def column(connection: BaseDatabaseWrapper, model: type[Model], name: str) -> str:
    """The quoted column of ``model``'s field ``name``, unqualified."""
    return connection.ops.quote_name(field(model, name).column)


def all_columns(connection: BaseDatabaseWrapper, model: type[Model]) -> str:
    """Every concrete column of ``model``, qualified by its table, in ``_meta`` order: the
    order :func:`instance` expects them back in."""
    quote = connection.ops.quote_name
    owner = table(connection, model)
    return ", ".join(f"{owner}.{quote(each.column)}" for each in model._meta.concrete_fields)


def for_update(connection: BaseDatabaseWrapper) -> str:
    """What locks the rows a SELECT reads until the transaction ends, where the database has
    row locks (PostgreSQL); SQLite's one writer at a time needs none. Only inside a transaction."""
    return " FOR UPDATE" if connection.features.has_select_for_update else ""


def fetch_one(connection: BaseDatabaseWrapper, sql: str, params: Sequence) -> tuple | None:
    """The first row ``sql`` answers, or None."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()


def _converted_field(connection: BaseDatabaseWrapper, model: type[Model], each: Field, value):
    """``value`` as the ORM hands over ``each``'s column: the backend's converters, then the
    field's own (``from_db_value``), in the compiler's order."""
    if value is None:
        return None
    expression = each.get_col(model._meta.db_table)
    converters = connection.ops.get_db_converters(expression)
    converters += expression.get_db_converters(connection)
    for convert in converters:
        value = convert(value, expression, connection)
    return value


def converted(connection: BaseDatabaseWrapper, model: type[Model], name: str, value: object):
    """One column's value as the ORM would hand it over."""
    return _converted_field(connection, model, field(model, name), value)


def instance(connection: BaseDatabaseWrapper, model: type[M], values: Sequence) -> M:
    """A ``model`` instance from a row's values for :func:`all_columns`, as the ORM builds one."""
    fields = model._meta.concrete_fields
    converted_values = [
        _converted_field(connection, model, each, value)
        for each, value in zip(fields, values, strict=True)
    ]
    return model.from_db(connection.alias, [each.attname for each in fields], converted_values)
