"""Reads an Open Cap Format package into the book, all or nothing: thin over
``grants.ocf.importing``."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from grants.audit import audit_source
from grants.ocf.importing import ImportRefused, import_package
from grants.ocf.validation import OCF_VERSION


class Command(BaseCommand):
    help = (
        f"Read an Open Cap Format v{OCF_VERSION} package (its folder or manifest) into the "
        "book, all or nothing: the files against the schemas, the references between "
        "objects, then the rules (schedules, plan reserve, exercises). Options only; other "
        "securities are listed as not imported. Importing the same package again changes "
        "nothing. See docs/ocf.md."
    )

    def add_arguments(self, parser):
        parser.add_argument("package", help="The package's folder (or its manifest file).")
        parser.add_argument(
            "--company", help="Import into this company (default: the issuer's legal name)."
        )

    def handle(self, *args, **options):
        try:
            with audit_source("command import_ocf"):
                summary = import_package(options["package"], company_name=options["company"])
        except ImportRefused as refused:
            for message in refused.messages:
                self.stderr.write(self.style.ERROR(message))
            raise CommandError(
                f"The package was not imported ({len(refused.messages):,} problem(s); see "
                f"above). Nothing was written."
            ) from None
        for line in summary.lines():
            self.stdout.write(line)
