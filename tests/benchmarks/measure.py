"""Measure one book (run by bench.py in a fresh process with DATABASE_URL set).

Prints one JSON object: median seconds of the nightly job (a dry run does all the work and
rolls back, so it can be repeated), of check_books, and server time (median of nine, after
a warm-up, in production settings: DEBUG off) and query count of the hot pages.
"""

import json
import os
import statistics
import sys
import time
from io import StringIO
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "equity.settings")

import django

django.setup()

from django.core.cache import caches  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.core.signals import request_finished, request_started  # noqa: E402
from django.db import close_old_connections, connection  # noqa: E402
from django.test import Client  # noqa: E402

# As Django's test runner does: keep one connection across requests, so queries are counted.
request_started.disconnect(close_old_connections)
request_finished.disconnect(close_old_connections)


def pages(number: str) -> dict[str, tuple[str, str]]:
    """The hot pages: label -> (URL, who asks for it)."""
    from grants.synthetic import BENCH_ADMIN, BENCH_USER

    return {
        "portal dashboard": ("/", BENCH_USER),
        "portal grant page": (f"/grants/{number}/", BENCH_USER),
        "admin grant list": ("/admin/grants/grant/", BENCH_ADMIN),
        "admin grant list, filtered": (
            "/admin/grants/grant/?status__exact=granted&expiring=30",
            BENCH_ADMIN,
        ),
    }


AS_OF = sys.argv[1]
WHAT = sys.argv[2].split(",")


def median_seconds(run, repeat=3):
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def page(client, url, repeat=9):
    client.get(url, secure=True)  # warm up
    executed = []

    def count(execute, sql, params, many, context):
        executed.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        response = client.get(url, secure=True)
    assert response.status_code == 200, (url, response.status_code)

    def afresh():  # each page as drawn when its cached copy is out of date
        caches["pages"].clear()
        caches["lists"].clear()
        client.get(url, secure=True)

    return {
        "seconds": median_seconds(lambda: client.get(url, secure=True), repeat),
        "queries": len(executed),
        "afresh_seconds": median_seconds(afresh, repeat),
    }


result = {}
if "nightly" in WHAT:
    result["nightly"] = median_seconds(
        lambda: call_command("expire_options", "--as-of", AS_OF, "--dry-run", stdout=StringIO())
    )
if "books" in WHAT:

    def books():
        try:
            call_command("check_books", "--as-of", AS_OF, stdout=StringIO(), stderr=StringIO())
        except Exception as error:  # a mismatch is reported, not timed away
            result["books_error"] = str(error)

    result["check_books"] = median_seconds(books, repeat=1)
if "reports" in WHAT:
    import datetime as dt
    from decimal import Decimal

    from grants.models import Company, Grant, GrantValuation
    from grants.services.reports import expense_report, option_rollforward

    company = Company.objects.get(name__startswith="Synthetic")
    if not GrantValuation.objects.exists():  # a fair value for every grant, to expense
        GrantValuation.objects.bulk_create(
            (
                GrantValuation(grant_id=pk, fair_value_per_share=Decimal("1.2345"))
                for pk in Grant.objects.values_list("pk", flat=True).iterator()
            ),
            batch_size=10_000,
        )
        with connection.cursor() as cursor:  # as generate_book does after writing a book
            cursor.execute("ANALYZE grants_grantvaluation")
    year = dt.date.fromisoformat(AS_OF).year - 1
    start, end = dt.date(year, 1, 1), dt.date(year, 12, 31)
    result["option_rollforward"] = median_seconds(
        lambda: option_rollforward(company, start, end), repeat=1
    )
    result["expense_report"] = median_seconds(
        lambda: expense_report(company, start, end, by="quarter"), repeat=1
    )
if "pages" in WHAT:
    from django.contrib.auth import get_user_model

    from grants.models import Grant
    from grants.synthetic import BENCH_ADMIN, BENCH_USER

    User = get_user_model()
    portal, admin = Client(), Client()
    portal.force_login(User.objects.get(username=BENCH_USER))
    admin.force_login(User.objects.get(username=BENCH_ADMIN))
    number = Grant.objects.filter(optionee__user__username=BENCH_USER).values_list(
        "number", flat=True
    )[0]
    result["page_specs"] = pages(number)
    result["pages"] = {
        label: page(portal if user == BENCH_USER else admin, url)
        for label, (url, user) in pages(number).items()
    }
print(json.dumps(result))
