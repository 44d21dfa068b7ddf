"""How many rows a back-office list says it holds (grants/admin/base.py): counted exactly,
except a list of more than ``ESTIMATE_ABOVE`` rows on PostgreSQL, which takes the
database's estimate and says so ("about N")."""

from __future__ import annotations

import re

import pytest
from django.contrib import admin
from django.db import connection

from grants.admin.base import Estimate, EstimatedCountPaginator
from grants.demo import load_demo
from grants.models import Grant

pytestmark = pytest.mark.django_db
URL = "/admin/grants/grant/"


def total(html: str) -> str:
    """What the paginator line says of the list's size."""
    return re.search(r'<p class="paginator">.*?([^\n>]*grants?)\s', html, re.S).group(1).strip()


def test_an_estimate_reads_about_and_counts_as_its_number():
    assert str(Estimate(1_000_000)) == "about 1,000,000"
    assert Estimate(12) == 12
    assert Estimate(12) > 11


def test_a_small_list_is_counted_exactly(admin_client):
    load_demo()
    every = Grant.objects.count()
    assert total(admin_client.get(URL, secure=True).content.decode()) == f"{every} grants"
    filtered = admin_client.get(URL, {"status__exact": "granted"}, secure=True).content.decode()
    granted = Grant.objects.filter(status="granted").count()
    assert total(filtered) == f"{granted} grants"


@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite counts exactly")
def test_a_large_list_says_it_is_an_estimate(admin_client, monkeypatch):
    """Made "large" by lowering the thresholds: an unfiltered list takes the table's
    statistics, a filtered one the planner's estimate of its rows when it expects a
    costly count; a first page that holds every row still says exactly how many."""
    load_demo()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE grants_grant")
    monkeypatch.setattr(EstimatedCountPaginator, "ESTIMATE_ABOVE", 0)
    monkeypatch.setattr(EstimatedCountPaginator, "ESTIMATE_ROWS_ABOVE", 0)
    monkeypatch.setattr(EstimatedCountPaginator, "ESTIMATE_COST_ABOVE", 0)
    model_admin = admin.site._registry[Grant]
    monkeypatch.setattr(model_admin, "list_per_page", 2)
    every = Grant.objects.count()
    html = admin_client.get(URL, secure=True).content.decode()
    assert total(html) == f"about {every:,} grants"
    granted = Grant.objects.filter(status="granted")
    assert granted.count() > 2
    html = admin_client.get(URL, {"status__exact": "granted"}, secure=True).content.decode()
    planned = int(re.search(r"rows=(\d+)", granted.values("pk").explain()).group(1))
    assert total(html) == f"about {planned:,} grants"
    # A count the planner expects to be cheap is counted, however many rows it has.
    monkeypatch.setattr(EstimatedCountPaginator, "ESTIMATE_COST_ABOVE", 10**12)
    html = admin_client.get(URL, {"status__exact": "granted"}, secure=True).content.decode()
    assert total(html) == f"{granted.count()} grants"
    monkeypatch.setattr(EstimatedCountPaginator, "ESTIMATE_COST_ABOVE", 0)
    monkeypatch.setattr(model_admin, "list_per_page", 50)  # the first page holds them all
    html = admin_client.get(URL, {"status__exact": "granted"}, secure=True).content.decode()
    assert total(html) == f"{granted.count()} grants"


def test_the_filters_offer_no_counts_that_read_whole_tables(admin_client):
    """Django's "Show counts" counts every choice of every filter on each visit."""
    load_demo()
    html = admin_client.get(URL, secure=True).content.decode()
    assert "_facets" not in html
    asked = admin_client.get(URL, {"_facets": "True"}, secure=True)
    assert asked.status_code == 200
    assert not asked.context["cl"].add_facets
