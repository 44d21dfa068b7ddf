"""Writes a company's option book as an Open Cap Format package: thin over
``grants.ocf.export``."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from grants.management.base import parse_date
from grants.models import Company
from grants.ocf.export import export_package
from grants.ocf.validation import OCF_VERSION


def company_named(name: str | None) -> Company:
    """The company called ``name``, or the only one when no name is given."""
    if name:
        company = Company.objects.filter(name=name).first()
        if company is None:
            known = ", ".join(Company.objects.order_by("name").values_list("name", flat=True))
            raise CommandError(
                f"No company is named “{name}”" + (f"; there are: {known}." if known else ".")
            )
        return company
    companies = list(Company.objects.order_by("name")[:2])
    if len(companies) != 1:
        raise CommandError(
            "There is no company in the book."
            if not companies
            else "There are several companies: name one with --company."
        )
    return companies[0]


class Command(BaseCommand):
    help = (
        f"Write the option book as an Open Cap Format v{OCF_VERSION} package into DIR: the "
        "manifest, stakeholders, stock class, stock plans, vesting terms and transactions "
        "(issuances, exercises, cancellations, returns to the pool, accelerations). "
        "--as-of writes the book as it stood that day. See docs/ocf.md."
    )

    def add_arguments(self, parser):
        parser.add_argument("directory", help="The package's folder (created if needed).")
        parser.add_argument("--as-of", type=parse_date, help="YYYY-MM-DD; default: today.")
        parser.add_argument("--company", help="The company's name (needed when there are several).")

    def handle(self, *args, **options):
        company = company_named(options["company"])
        try:
            summary = export_package(company, options["directory"], as_of=options["as_of"])
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from None
        self.stdout.write(str(summary))
