"""Prints an agreement form as its JSON file (DOMAIN.md), which import_terms reads back
unchanged."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from grants import agreement_forms
from grants.models import GrantTerms


class Command(BaseCommand):
    help = "Print the agreement form NAME as JSON, in the format import_terms reads."

    def add_arguments(self, parser):
        parser.add_argument("name", help="The form's name.")

    def handle(self, *args, **options):
        form = GrantTerms.objects.filter(name=options["name"]).first()
        if form is None:
            known = ", ".join(GrantTerms.objects.order_by("name").values_list("name", flat=True))
            raise CommandError(
                f"No agreement form is named “{options['name']}”"
                + (f"; there are: {known}." if known else ".")
            )
        self.stdout.write(agreement_forms.dumps(form), ending="")
