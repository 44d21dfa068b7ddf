"""The OCF package check: every problem in an Open Cap Format package, offline."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from grants.ocf.validation import OCF_VERSION, validate_package


class Command(BaseCommand):
    """Reads files only: no database, so none of the operations commands' --as-of and
    --dry-run (there is nothing to date and nothing to commit)."""

    help = (
        f"Check an Open Cap Format v{OCF_VERSION} package against the published schemas "
        "(the project's copy; nothing is fetched): the manifest, and each file it names, "
        "with its MD5. Prints every problem with its file, object id and JSON path; exits "
        "non-zero when there is any. See docs/ocf.md."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "package", help="The package's folder (or its manifest file, *.ocf.json)."
        )

    def handle(self, *args, **options):
        package = options["package"]
        errors = validate_package(package)
        for error in errors:
            self.stderr.write(self.style.ERROR(str(error)))
        if errors:
            self.stdout.write(f"OCF package {package}: {len(errors):,} problem(s).")
            raise CommandError(f"{len(errors):,} problem(s) in the OCF package; see above.")
        self.stdout.write(f"OCF package {package}: valid OCF {OCF_VERSION}, no problems.")
