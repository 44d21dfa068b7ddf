"""Searching people and grants by any part of a name, e-mail, employee id or grant number
(the back office's search box, Django's ``icontains``) served by trigram indexes from
PostgreSQL's ``pg_trgm`` extension: without them each search read every row (256 ms over
500,000 optionees). The index is on ``UPPER(column::text)``, the expression Django's
``icontains`` compares on PostgreSQL, so the planner can use it. Other databases have no
such index; there the search reads the table (docs/performance.md)."""

from django.db import migrations

TRIGRAM_INDEXES = {
    "grant_number_trgm": ("grants_grant", "number"),
    "optionee_legal_name_trgm": ("grants_optionee", "legal_name"),
    "optionee_email_trgm": ("grants_optionee", "email"),
    "optionee_employee_id_trgm": ("grants_optionee", "employee_id"),
}


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, (table, column) in TRIGRAM_INDEXES.items():
        schema_editor.execute(
            f'CREATE INDEX IF NOT EXISTS "{name}" ON "{table}" '
            f'USING gin ((UPPER("{column}"::text)) gin_trgm_ops)'
        )
    # The planner uses an expression index once it has statistics of the expression.
    schema_editor.execute('ANALYZE "grants_grant", "grants_optionee"')


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in TRIGRAM_INDEXES:
        schema_editor.execute(f'DROP INDEX IF EXISTS "{name}"')


class Migration(migrations.Migration):
    dependencies = [("grants", "0020_valuations_and_expense_policy")]

    operations = [migrations.RunPython(create, drop, elidable=False)]
