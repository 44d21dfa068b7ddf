"""The demo book: the seed grant and the people around it, for a first look at the app."""

from django.core.management.base import BaseCommand

from grants.demo import load_demo


class Command(BaseCommand):
    help = (
        "Load the demo book: the seed grant (Valence Technology to James R. Akridge, 2005), "
        "a few optionees in other states, recent closing prices, a demo stock administrator, "
        "a demo auditor and a portal login for every demo optionee. Safe to run again: it "
        "adds only what is missing and never runs the nightly job."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--port",
            type=int,
            default=8000,
            help="The port the development server will listen on, for the address printed "
            "(make run PORT=8010 passes it).",
        )

    def handle(self, *args, **options):
        logins = load_demo()
        self.stdout.write(self.style.SUCCESS("Demo data loaded."))
        self.stdout.write(
            f"\nSign in at http://127.0.0.1:{options['port']}/\n"
            f"  Stock administrator (back office at /admin/): {logins['admin']} / "
            f"{logins['admin_password']}\n"
            f"  Auditor (back office, read only): {logins['auditor']} / "
            f"{logins['auditor_password']}\n"
            f"  Optionees (portal at /): {logins['optionees']} / {logins['optionee_password']}\n"
        )
