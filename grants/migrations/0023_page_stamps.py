"""The stamps behind the portal's cached pages: a table of the database's own, kept by
its triggers (``grants/page_stamps.py``), with every optionee and the company facts
stamped afresh."""

from django.db import migrations

from grants import page_stamps


def install(apps, schema_editor):
    page_stamps.install(schema_editor)


def remove(apps, schema_editor):
    page_stamps.remove(schema_editor)


class Migration(migrations.Migration):
    dependencies = [("grants", "0022_plan_and_terms_usage")]

    operations = [migrations.RunPython(install, remove, elidable=False)]
