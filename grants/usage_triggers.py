"""The triggers that keep ``PlanUsage`` and ``TermsUsage`` (the sums behind a plan's
reserve, the count of grants under each agreement form) in step with the grants table, and
``TerminationWindow`` (each termination's latest last day among its optionee's outstanding
grants, which the back office's dashboard lists) in step with grants and terminations.

They run inside the statement that changes grants, so the sums can never disagree with
the book they describe, whoever writes it. On PostgreSQL they are statement-level
triggers reading the statement's transition tables: a COPY of 100,000 grants or the
nightly job's one UPDATE of many grants adjusts each sum once, not once a row. SQLite has
row-level triggers only.

The two tables are the database's, not Django's (the models are unmanaged): Django does
not flush or dump them. They hold no foreign key, so emptying the book (``flush``, which
truncates plans) leaves them alone; a plan or form created with an id seen before starts
its row again at zero.

SQLite drops a table's triggers when Django's schema editor rebuilds the table (most
``ALTER``s of ``grants_grant``): a later migration that alters the grants table must call
``install`` again. A test checks that the triggers are in place after every migration, and
``check_books`` compares the sums with the book.
"""

from __future__ import annotations

from grants.db import trigger_statements, triggers_named

# The rows a statement changed, each counted in (+1: a new version) or out (-1: an old one).
_CHANGES = {
    "insert": "SELECT plan_id, terms_id, shares, returned_shares, 1 AS sign FROM new_rows",
    "delete": "SELECT plan_id, terms_id, shares, returned_shares, -1 AS sign FROM old_rows",
    "update": (
        "SELECT plan_id, terms_id, shares, returned_shares, 1 AS sign FROM new_rows "
        "UNION ALL "
        "SELECT plan_id, terms_id, shares, returned_shares, -1 AS sign FROM old_rows"
    ),
}
_TRANSITIONS = {
    "insert": "REFERENCING NEW TABLE AS new_rows",
    "delete": "REFERENCING OLD TABLE AS old_rows",
    "update": "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows",
}


# Each termination's last day: the latest effective expiration date among its optionee's
# outstanding grants (None when none is outstanding), for the terminations ``which`` names.
_WINDOW_UPSERT = """
    INSERT INTO grants_terminationwindow (termination_id, last_day)
    SELECT t.id, (SELECT MAX(g.expires_on) FROM grants_grant g
                   WHERE g.optionee_id = t.optionee_id AND g.status = 'granted')
      FROM grants_termination t WHERE {which}
    ON CONFLICT (termination_id) DO UPDATE SET last_day = excluded.last_day
"""


def _postgresql() -> list[str]:
    statements = [
        """
        CREATE OR REPLACE FUNCTION grants_usage_new_plan() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            INSERT INTO grants_planusage (plan_id, granted, returned) VALUES (NEW.id, 0, 0)
            ON CONFLICT (plan_id) DO UPDATE SET granted = 0, returned = 0;
            RETURN NULL;
        END $$
        """,
        """
        CREATE OR REPLACE FUNCTION grants_usage_new_terms() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            INSERT INTO grants_termsusage (terms_id, grants) VALUES (NEW.id, 0)
            ON CONFLICT (terms_id) DO UPDATE SET grants = 0;
            RETURN NULL;
        END $$
        """,
        "DROP TRIGGER IF EXISTS grants_usage_new_plan ON grants_plan",
        """
        CREATE TRIGGER grants_usage_new_plan AFTER INSERT ON grants_plan
        FOR EACH ROW EXECUTE FUNCTION grants_usage_new_plan()
        """,
        "DROP TRIGGER IF EXISTS grants_usage_new_terms ON grants_grantterms",
        """
        CREATE TRIGGER grants_usage_new_terms AFTER INSERT ON grants_grantterms
        FOR EACH ROW EXECUTE FUNCTION grants_usage_new_terms()
        """,
    ]
    for event, changes in _CHANGES.items():
        statements += [
            f"""
            CREATE OR REPLACE FUNCTION grants_usage_after_{event}() RETURNS trigger
            LANGUAGE plpgsql AS $$
            BEGIN
                UPDATE grants_planusage AS usage
                   SET granted = usage.granted + change.granted,
                       returned = usage.returned + change.returned
                  FROM (SELECT plan_id, SUM(sign * shares) AS granted,
                               SUM(sign * returned_shares) AS returned
                          FROM ({changes}) AS changed GROUP BY plan_id) AS change
                 WHERE usage.plan_id = change.plan_id
                   AND (change.granted <> 0 OR change.returned <> 0);
                UPDATE grants_termsusage AS usage
                   SET grants = usage.grants + change.grants
                  FROM (SELECT terms_id, SUM(sign) AS grants
                          FROM ({changes}) AS changed GROUP BY terms_id) AS change
                 WHERE usage.terms_id = change.terms_id AND change.grants <> 0;
                RETURN NULL;
            END $$
            """,
            f"DROP TRIGGER IF EXISTS grants_usage_after_{event} ON grants_grant",
            f"""
            CREATE TRIGGER grants_usage_after_{event} AFTER {event.upper()} ON grants_grant
            {_TRANSITIONS[event]} FOR EACH STATEMENT
            EXECUTE FUNCTION grants_usage_after_{event}()
            """,
        ]
    statements += [
        f"""
        CREATE OR REPLACE FUNCTION grants_usage_window_of(optionees bigint[]) RETURNS void
        LANGUAGE sql AS $$ {_WINDOW_UPSERT.format(which="t.optionee_id = ANY(optionees)")} $$
        """,
        """
        CREATE OR REPLACE FUNCTION grants_usage_window_grant() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP IN ('INSERT', 'UPDATE') THEN
                PERFORM grants_usage_window_of(ARRAY(SELECT DISTINCT optionee_id FROM new_rows));
            END IF;
            IF TG_OP IN ('DELETE', 'UPDATE') THEN
                PERFORM grants_usage_window_of(ARRAY(SELECT DISTINCT optionee_id FROM old_rows));
            END IF;
            RETURN NULL;
        END $$
        """,
        f"""
        CREATE OR REPLACE FUNCTION grants_usage_window_termination() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP = 'DELETE' THEN
                DELETE FROM grants_terminationwindow
                 WHERE termination_id IN (SELECT id FROM old_rows);
            ELSE
                {_WINDOW_UPSERT.format(which="t.id IN (SELECT id FROM new_rows)")};
            END IF;
            RETURN NULL;
        END $$
        """,
    ]
    for event in _CHANGES:
        for table, name, function in [
            ("grants_grant", f"grants_usage_window_grant_{event}", "grants_usage_window_grant"),
            (
                "grants_termination",
                f"grants_usage_window_{event}",
                "grants_usage_window_termination",
            ),
        ]:
            statements += [
                f"DROP TRIGGER IF EXISTS {name} ON {table}",
                f"CREATE TRIGGER {name} AFTER {event.upper()} ON {table} {_TRANSITIONS[event]} "
                f"FOR EACH STATEMENT EXECUTE FUNCTION {function}()",
            ]
    return statements


def _row_change(row: str, sign: str) -> list[str]:
    """SQLite: count one version of a row (``NEW`` or ``OLD``) in (+) or out (-)."""
    return [
        f"UPDATE grants_planusage SET granted = granted {sign} {row}.shares, "
        f"returned = returned {sign} {row}.returned_shares WHERE plan_id = {row}.plan_id;",
        f"UPDATE grants_termsusage SET grants = grants {sign} 1 WHERE terms_id = {row}.terms_id;",
    ]


def _sqlite() -> list[str]:
    bodies = {
        "INSERT": _row_change("NEW", "+"),
        "DELETE": _row_change("OLD", "-"),
        "UPDATE OF plan_id, terms_id, shares, returned_shares": [
            *_row_change("OLD", "-"),
            *_row_change("NEW", "+"),
        ],
    }
    statements = [
        "DROP TRIGGER IF EXISTS grants_usage_new_plan",
        "CREATE TRIGGER grants_usage_new_plan AFTER INSERT ON grants_plan BEGIN "
        "INSERT OR REPLACE INTO grants_planusage (plan_id, granted, returned) "
        "VALUES (NEW.id, 0, 0); END",
        "DROP TRIGGER IF EXISTS grants_usage_new_terms",
        "CREATE TRIGGER grants_usage_new_terms AFTER INSERT ON grants_grantterms BEGIN "
        "INSERT OR REPLACE INTO grants_termsusage (terms_id, grants) VALUES (NEW.id, 0); END",
    ]
    for event, body in bodies.items():
        name = f"grants_usage_after_{event.split()[0].lower()}"
        statements += [
            f"DROP TRIGGER IF EXISTS {name}",
            f"CREATE TRIGGER {name} AFTER {event} ON grants_grant BEGIN {' '.join(body)} END",
        ]
    of_optionee = _WINDOW_UPSERT.format(which="t.optionee_id = {row}.optionee_id AND true")
    of_termination = _WINDOW_UPSERT.format(which="t.id = NEW.id AND true")
    windows = {
        ("grants_grant", "grants_usage_window_grant_insert", "INSERT"): [
            of_optionee.format(row="NEW")
        ],
        (
            "grants_grant",
            "grants_usage_window_grant_update",
            "UPDATE OF optionee_id, status, expires_on",
        ): [
            of_optionee.format(row="OLD"),
            of_optionee.format(row="NEW"),
        ],
        ("grants_grant", "grants_usage_window_grant_delete", "DELETE"): [
            of_optionee.format(row="OLD")
        ],
        ("grants_termination", "grants_usage_window_insert", "INSERT"): [of_termination],
        ("grants_termination", "grants_usage_window_update", "UPDATE OF optionee_id"): [
            of_termination
        ],
        ("grants_termination", "grants_usage_window_delete", "DELETE"): [
            "DELETE FROM grants_terminationwindow WHERE termination_id = OLD.id"
        ],
    }
    for (table, name, event), body in windows.items():
        statements += [
            f"DROP TRIGGER IF EXISTS {name}",
            f"CREATE TRIGGER {name} AFTER {event} ON {table} BEGIN {'; '.join(body)}; END",
        ]
    return statements


TRIGGERS = [
    "grants_usage_new_plan",
    "grants_usage_new_terms",
    "grants_usage_after_insert",
    "grants_usage_after_delete",
    "grants_usage_after_update",
    *(f"grants_usage_window_grant_{event}" for event in ("insert", "update", "delete")),
    *(f"grants_usage_window_{event}" for event in ("insert", "update", "delete")),
]
TRIGGER_TABLES = {  # the table of each trigger not on grants_grant
    "grants_usage_new_plan": "grants_plan",
    "grants_usage_new_terms": "grants_grantterms",
    **{
        f"grants_usage_window_{event}": "grants_termination"
        for event in ("insert", "update", "delete")
    },
}

_TABLES = [
    "CREATE TABLE IF NOT EXISTS grants_planusage (plan_id bigint NOT NULL PRIMARY KEY, "
    "granted bigint NOT NULL DEFAULT 0, returned bigint NOT NULL DEFAULT 0)",
    "CREATE TABLE IF NOT EXISTS grants_termsusage (terms_id bigint NOT NULL PRIMARY KEY, "
    "grants bigint NOT NULL DEFAULT 0)",
    "CREATE TABLE IF NOT EXISTS grants_terminationwindow "
    "(termination_id bigint NOT NULL PRIMARY KEY, last_day date NULL)",
    "CREATE INDEX IF NOT EXISTS grants_terminationwindow_last_day "
    "ON grants_terminationwindow (last_day)",
]

_RECOUNT = [
    "DELETE FROM grants_planusage",
    "DELETE FROM grants_termsusage",
    "DELETE FROM grants_terminationwindow",
    _WINDOW_UPSERT.format(which="true"),
    """
    INSERT INTO grants_planusage (plan_id, granted, returned)
    SELECT plan.id, COALESCE(SUM(grant_.shares), 0), COALESCE(SUM(grant_.returned_shares), 0)
      FROM grants_plan AS plan LEFT JOIN grants_grant AS grant_ ON grant_.plan_id = plan.id
     GROUP BY plan.id
    """,
    """
    INSERT INTO grants_termsusage (terms_id, grants)
    SELECT terms.id, COUNT(grant_.id)
      FROM grants_grantterms AS terms LEFT JOIN grants_grant AS grant_ ON grant_.terms_id = terms.id
     GROUP BY terms.id
    """,
]


def install(schema_editor) -> None:
    """Create (or re-create) the triggers and add the sums up from the book."""
    vendor = schema_editor.connection.vendor
    written = {"postgresql": _postgresql, "sqlite": _sqlite}
    statements = trigger_statements(vendor, written, "usage triggers")
    for statement in [*_TABLES, *statements, *_RECOUNT]:
        schema_editor.execute(statement)


def recount(connection) -> None:
    """Add the sums up from the book again (after something wrote around the triggers)."""
    with connection.cursor() as cursor:
        for statement in _RECOUNT:
            cursor.execute(statement)


def remove(schema_editor) -> None:
    for name in TRIGGERS:
        if schema_editor.connection.vendor == "postgresql":
            table = TRIGGER_TABLES.get(name, "grants_grant")
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
            schema_editor.execute(f"DROP FUNCTION IF EXISTS {name}()")
        else:
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {name}")
    if schema_editor.connection.vendor == "postgresql":
        for function in [
            "grants_usage_window_of(bigint[])",
            "grants_usage_window_grant()",
            "grants_usage_window_termination()",
        ]:
            schema_editor.execute(f"DROP FUNCTION IF EXISTS {function}")
    schema_editor.execute("DROP TABLE IF EXISTS grants_planusage")
    schema_editor.execute("DROP TABLE IF EXISTS grants_termsusage")
    schema_editor.execute("DROP TABLE IF EXISTS grants_terminationwindow")


def installed(connection) -> set[str]:
    """The names of the usage triggers present in the database."""
    return {name for name, _table in triggers_named(connection, "grants_usage_")}


class KeptByTheDatabase:
    """A database router (``DATABASE_ROUTERS``) that keeps Django's hands off the kept
    tables: ``dumpdata`` leaves them out of a backup (loading a backup adds them up anew,
    through the triggers, as its grants load) and no migration of Django's creates or
    alters them (``install`` does)."""

    TABLES = {"planusage", "termsusage", "terminationwindow"}

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        if app_label == "grants" and model_name and model_name.lower() in self.TABLES:
            return False
        return None
