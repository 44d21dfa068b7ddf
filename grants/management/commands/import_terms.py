"""Imports an agreement form from its JSON file (DOMAIN.md): all or nothing, every error
naming its key."""

from __future__ import annotations

from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from grants import agreement_forms
from grants.audit import audit_source
from grants.models import Company


class Command(BaseCommand):
    help = (
        "Create an agreement form from a JSON file, or update the form of that name "
        "(docs/agreement-forms.md). Every key is checked first and every error names its key; "
        "nothing is written unless the whole file is right. A form that grants were made "
        "under is not changed (their agreements are signed): import new terms under a new "
        "name. Importing a file that export_terms wrote changes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="The form as JSON (see export_terms for an example).")

    def handle(self, *args, **options):
        path = Path(options["file"])
        try:
            data = path.read_bytes()
        except OSError as error:
            raise CommandError(f"{path}: cannot be read ({error.strerror}).") from None
        try:
            parsed = agreement_forms.read(data)
            company = Company.objects.order_by("pk").first()
            today = company.today() if company else None
            with audit_source("command import_terms"):
                form, what = agreement_forms.save(parsed, today=today)
        except ValidationError as refused:
            for message in refused.messages:
                self.stderr.write(f"{path}: {message}")
            raise CommandError(
                f"{len(refused.messages)} problem(s) in {path}; nothing was imported."
            ) from None
        self.stdout.write(f"Agreement form “{form.name}”: {what}.")
