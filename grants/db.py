"""Database helpers for bulk work: storing many rows' own values in one statement, and
looking many values up in as few queries as the database allows; and which of the
database's own triggers are in place."""

from __future__ import annotations

from django.db import connection, models


def bulk_set(objects: list[models.Model], fields: list[str]) -> None:
    """Store ``fields`` of many rows of one model, each with its own values, in one
    statement. On PostgreSQL: ``UPDATE ... FROM unnest(<one array per column>)``, a
    fraction of the cost of ``bulk_update``'s ``CASE WHEN`` per row (measured in
    docs/performance.md); elsewhere ``bulk_update``."""
    model = type(objects[0])
    if connection.vendor != "postgresql":
        model.objects.bulk_update(objects, fields)
        return
    quote = connection.ops.quote_name
    columns = [model._meta.get_field(name) for name in fields]
    pk = model._meta.pk
    arrays = [[pk.get_db_prep_value(o.pk, connection) for o in objects]] + [
        [field.get_db_prep_save(getattr(o, field.attname), connection) for o in objects]
        for field in columns
    ]
    types = [pk.rel_db_type(connection), *(field.db_type(connection) for field in columns)]
    names = [quote(pk.column), *(quote(field.column) for field in columns)]
    sql = (
        f"UPDATE {quote(model._meta.db_table)} AS target SET "
        + ", ".join(f"{name} = source.{name}" for name in names[1:])
        + " FROM unnest("
        + ", ".join(f"%s::{kind}[]" for kind in types)
        + f") AS source({', '.join(names)}) WHERE target.{names[0]} = source.{names[0]}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, arrays)


IN_LIST_SIZE = 5_000  # values in one IN (...) list: within SQLite's limit on parameters


def in_lists(values: list, kind: str = "text") -> list:
    """What ``field__in=`` takes to look ``values`` up, in as few queries as the database
    allows: one array parameter of SQL type ``kind`` on PostgreSQL (an IN list of 100,000
    parameters costs seconds to compose), lists of ``IN_LIST_SIZE`` values elsewhere."""
    if connection.vendor == "postgresql":
        array = models.expressions.RawSQL(f"SELECT unnest(%s::{kind}[])", [values])
        return [array] if values else []
    return [values[start : start + IN_LIST_SIZE] for start in range(0, len(values), IN_LIST_SIZE)]


def triggers_named(connection, prefix: str) -> set[tuple[str, str]]:
    """(trigger, table) for every trigger in the database whose name starts with
    ``prefix`` (the kept sums' and the page stamps' triggers are checked by tests)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT tgname, tgrelid::regclass::text FROM pg_trigger "
                "WHERE NOT tgisinternal AND starts_with(tgname, %s)",
                [prefix],
            )
        else:
            cursor.execute(
                "SELECT name, tbl_name FROM sqlite_master "
                "WHERE type = 'trigger' AND substr(name, 1, length(%s)) = %s",
                [prefix, prefix],
            )
        return set(cursor.fetchall())


def trigger_statements(vendor: str, written: dict, what: str) -> list[str]:
    """The statements that create ``what`` (triggers of ours) on ``vendor``'s database,
    from ``written`` (vendor -> a function returning them); refused for any other."""
    if vendor not in written:
        raise NotImplementedError(f"No {what} are written for {vendor}.")
    return written[vendor]()
