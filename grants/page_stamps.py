"""Stamps that change, in the same statement, with every fact a portal page shows: the
keys under which a rendered page may be served again without being stale.

Each optionee has a stamp, and the company facts (the company's settings, holidays,
registration suspensions, closing prices, plans and agreement forms) share one. A trigger
on every table a cached page reads gives the stamps of the rows it touched a new random
value, inside the statement that touches them: a verb of the app, an admin edit, the
nightly job's bulk UPDATE, a COPY or a hand-written SQL statement alike. A page cached
under the stamps it read first is therefore never served once anything it shows has
changed (``grants/portal/cache.py`` builds the keys; docs/performance.md shows why the read
order makes this safe).

The stamp is random rather than a counter so that it is never reused: a counter rolled
back with a restored backup, or with a test's transaction, could count up again to a
number a cached page was stored under, with other facts behind it.

On PostgreSQL the triggers are statement-level and read the statement's transition
tables, so a COPY of many rows or one UPDATE of many grants stamps each optionee once; a
TRUNCATE, which names no rows, stamps everyone. SQLite has row-level triggers only (and no
TRUNCATE). The stamps table is the database's, not Django's: no model, never dumped or
flushed by Django; a missing stamp means "draw the page afresh", never "unchanged".

SQLite drops a table's triggers when Django's schema editor rebuilds the table (most
``ALTER``s): a later migration that alters one of the tables below must call ``install``
again. A test checks that every trigger is in place after all migrations.
"""

from __future__ import annotations

from grants.db import trigger_statements, triggers_named

TABLE = "grants_pagestamp"
OPTIONEE = "o"
COMPANY = "c"

# Each table a cached page reads, and the column of its rows that names the optionee whose
# pages a change to the row changes: the optionee itself, or (through "grant_id") the
# optionee of the row's grant.
BY_OPTIONEE = {
    "grants_optionee": "id",
    "grants_grant": "optionee_id",
    "grants_installment": "grant_id",
    "grants_exercise": "grant_id",
    "grants_acknowledgement": "grant_id",
    "grants_termination": "optionee_id",
    "grants_section16window": "optionee_id",
    "grants_exercisehold": "optionee_id",
    "grants_successor": "optionee_id",
}
# Tables of company facts: any change to them gives the one company stamp a new value.
COMPANY_WIDE = [
    "grants_company",
    "grants_holiday",
    "grants_registrationsuspension",
    "grants_closingprice",
    "grants_plan",
    "grants_grantterms",
]
TABLES = [*BY_OPTIONEE, *COMPANY_WIDE]

_CREATE = (
    f"CREATE TABLE IF NOT EXISTS {TABLE} (kind char(1) NOT NULL, key bigint NOT NULL, "
    "stamp bigint NOT NULL, PRIMARY KEY (kind, key))"
)
_PG_RANDOM = "floor(random() * 9007199254740991)::bigint"


def _postgresql() -> list[str]:
    statements = [
        f"""
        CREATE OR REPLACE FUNCTION grants_stamp_optionees(ids bigint[]) RETURNS void
        LANGUAGE sql AS $$
            INSERT INTO {TABLE} (kind, key, stamp)
            SELECT '{OPTIONEE}', id, {_PG_RANDOM}
              FROM (SELECT DISTINCT unnest(ids) AS id) AS changed
             WHERE id IS NOT NULL ORDER BY id
            ON CONFLICT (kind, key) DO UPDATE SET stamp = EXCLUDED.stamp
        $$
        """,
        f"""
        CREATE OR REPLACE FUNCTION grants_stamp_everyone() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            UPDATE {TABLE} SET stamp = {_PG_RANDOM};
            RETURN NULL;
        END $$
        """,
        f"""
        CREATE OR REPLACE FUNCTION grants_stamp_company() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            INSERT INTO {TABLE} (kind, key, stamp) VALUES ('{COMPANY}', 0, {_PG_RANDOM})
            ON CONFLICT (kind, key) DO UPDATE SET stamp = EXCLUDED.stamp;
            RETURN NULL;
        END $$
        """,
    ]
    for table, column in BY_OPTIONEE.items():
        new, old = _optionees_of(column, "new_rows"), _optionees_of(column, "old_rows")
        statements.append(
            f"""
            CREATE OR REPLACE FUNCTION grants_stamp_{table}() RETURNS trigger
            LANGUAGE plpgsql AS $$
            BEGIN
                IF TG_OP IN ('INSERT', 'UPDATE') THEN
                    PERFORM grants_stamp_optionees(ARRAY({new}));
                END IF;
                IF TG_OP IN ('DELETE', 'UPDATE') THEN
                    PERFORM grants_stamp_optionees(ARRAY({old}));
                END IF;
                RETURN NULL;
            END $$
            """
        )
        for event, transitions in [
            ("insert", "REFERENCING NEW TABLE AS new_rows"),
            ("update", "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows"),
            ("delete", "REFERENCING OLD TABLE AS old_rows"),
        ]:
            name = f"grants_stamp_{event}"
            statements += [
                f"DROP TRIGGER IF EXISTS {name} ON {table}",
                f"CREATE TRIGGER {name} AFTER {event.upper()} ON {table} {transitions} "
                f"FOR EACH STATEMENT EXECUTE FUNCTION grants_stamp_{table}()",
            ]
        statements += [  # a TRUNCATE names no rows: every stamp changes
            f"DROP TRIGGER IF EXISTS grants_stamp_truncate ON {table}",
            f"CREATE TRIGGER grants_stamp_truncate AFTER TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION grants_stamp_everyone()",
        ]
    for table in COMPANY_WIDE:
        statements += [
            f"DROP TRIGGER IF EXISTS grants_stamp_company ON {table}",
            f"CREATE TRIGGER grants_stamp_company AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE "
            f"ON {table} FOR EACH STATEMENT EXECUTE FUNCTION grants_stamp_company()",
        ]
    return statements


def _optionees_of(column: str, rows: str) -> str:
    """PostgreSQL: the optionees named by a statement's ``rows`` (a transition table)."""
    if column == "grant_id":
        return f"SELECT optionee_id FROM grants_grant WHERE id IN (SELECT grant_id FROM {rows})"
    return f"SELECT {column} FROM {rows}"


def _sqlite_stamp(select: str) -> str:
    # "WHERE true" tells SQLite's parser that ON CONFLICT belongs to the INSERT.
    where = " AND" if " WHERE " in select else " WHERE"
    return (
        f"INSERT INTO {TABLE} (kind, key, stamp) {select}{where} true "
        "ON CONFLICT (kind, key) DO UPDATE SET stamp = excluded.stamp;"
    )


def _sqlite_row(column: str, row: str) -> str:
    """SQLite: the statement that stamps the optionee of one row (``NEW`` or ``OLD``)."""
    if column == "grant_id":
        return _sqlite_stamp(
            f"SELECT '{OPTIONEE}', optionee_id, random() FROM grants_grant "
            f"WHERE id = {row}.grant_id"
        )
    return _sqlite_stamp(f"SELECT '{OPTIONEE}', {row}.{column}, random()")


def _sqlite() -> list[str]:
    statements = []
    for table, column in BY_OPTIONEE.items():
        for event, rows in [("insert", ["NEW"]), ("update", ["OLD", "NEW"]), ("delete", ["OLD"])]:
            name = f"grants_stamp_{event}_{table}"
            body = " ".join(_sqlite_row(column, row) for row in rows)
            statements += [
                f"DROP TRIGGER IF EXISTS {name}",
                f"CREATE TRIGGER {name} AFTER {event.upper()} ON {table} BEGIN {body} END",
            ]
    company = _sqlite_stamp(f"SELECT '{COMPANY}', 0, random()")
    for table in COMPANY_WIDE:
        for event in ["insert", "update", "delete"]:
            name = f"grants_stamp_{event}_{table}"
            statements += [
                f"DROP TRIGGER IF EXISTS {name}",
                f"CREATE TRIGGER {name} AFTER {event.upper()} ON {table} BEGIN {company} END",
            ]
    return statements


def _stamp_everything(vendor: str) -> list[str]:
    random = _PG_RANDOM if vendor == "postgresql" else "random()"
    return [
        f"DELETE FROM {TABLE}",
        f"INSERT INTO {TABLE} (kind, key, stamp) SELECT '{OPTIONEE}', id, {random} "
        "FROM grants_optionee",
        f"INSERT INTO {TABLE} (kind, key, stamp) VALUES ('{COMPANY}', 0, {random})",
    ]


def install(schema_editor) -> None:
    """Create (or re-create) the stamps table and its triggers, and stamp every optionee
    and the company facts afresh."""
    vendor = schema_editor.connection.vendor
    written = {"postgresql": _postgresql, "sqlite": _sqlite}
    statements = trigger_statements(vendor, written, "page-stamp triggers")
    for statement in [_CREATE, *statements, *_stamp_everything(vendor)]:
        schema_editor.execute(statement)


def remove(schema_editor) -> None:
    connection = schema_editor.connection
    for name, table in expected_triggers(connection.vendor):
        if connection.vendor == "postgresql":
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
        else:
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {name}")
    if connection.vendor == "postgresql":
        schema_editor.execute("DROP FUNCTION IF EXISTS grants_stamp_optionees(bigint[])")
        schema_editor.execute("DROP FUNCTION IF EXISTS grants_stamp_company()")
        schema_editor.execute("DROP FUNCTION IF EXISTS grants_stamp_everyone()")
        for table in BY_OPTIONEE:
            schema_editor.execute(f"DROP FUNCTION IF EXISTS grants_stamp_{table}()")
    schema_editor.execute(f"DROP TABLE IF EXISTS {TABLE}")


def expected_triggers(vendor: str) -> set[tuple[str, str]]:
    """(trigger, table) for every trigger ``install`` creates."""
    if vendor == "postgresql":
        return {
            *(
                (f"grants_stamp_{e}", t)
                for t in BY_OPTIONEE
                for e in ("insert", "update", "delete", "truncate")
            ),
            *(("grants_stamp_company", t) for t in COMPANY_WIDE),
        }
    return {(f"grants_stamp_{e}_{t}", t) for t in TABLES for e in ("insert", "update", "delete")}


def installed(connection) -> set[tuple[str, str]]:
    """(trigger, table) for the page-stamp triggers present in the database."""
    return triggers_named(connection, "grants_stamp_")


# The stamps a person's pages depend on: those of every optionee the person acts for (as
# ``Optionee.objects.ids_for_user`` finds them: their own record, and the deceased
# optionees whose recorded successor they are), with each one's company zone, and the
# company stamp (optionee 0).
PERSON_STAMPS = f"""
SELECT o.id, s.stamp, c.time_zone
  FROM grants_optionee o
  JOIN grants_company c ON c.id = o.company_id
  LEFT JOIN {TABLE} s ON s.kind = '{OPTIONEE}' AND s.key = o.id
 WHERE o.user_id = %s
UNION ALL
SELECT o.id, s.stamp, c.time_zone
  FROM grants_successor su
  JOIN grants_optionee o ON o.id = su.optionee_id AND o.date_of_death IS NOT NULL
  JOIN grants_company c ON c.id = o.company_id
  LEFT JOIN {TABLE} s ON s.kind = '{OPTIONEE}' AND s.key = o.id
 WHERE su.user_id = %s
UNION ALL
SELECT 0, s.stamp, '' FROM {TABLE} s WHERE s.kind = '{COMPANY}' AND s.key = 0
"""


def person_stamps(connection, user_id: int) -> list[tuple[int, int | None, str]]:
    """(optionee id, stamp, company time zone) for each optionee ``user_id`` acts for, and
    (0, company stamp, "") last; a stamp is None where none has been written."""
    with connection.cursor() as cursor:
        cursor.execute(PERSON_STAMPS, [user_id, user_id])
        rows = cursor.fetchall()
    if not any(optionee_id == 0 for optionee_id, _, _ in rows):
        rows.append((0, None, ""))
    return rows
