"""The back office's search box: each table looks its own column up (by its trigram index
on PostgreSQL) and the rows found through a relation are matched by key. It finds what
Django's own search, one query joining the tables, finds."""

from __future__ import annotations

import re

import pytest
from django.contrib import admin
from django.contrib.admin import ModelAdmin
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext

from grants.admin import base
from grants.demo import load_demo
from grants.models import Exercise, Grant, Optionee, Termination
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

TERMS = ["Garcia", "garcia", "VLNC-2005", "demo-01", "maria garcia", "@example", "nobody"]
TERMS += ["'R. Ak'"]  # a quoted phrase is one word
TERMS += ["on", "1,", "a", "-0", "VLNC-DEMO-0101", "vlnc-2005-0001"]  # too short to look up; runs


@pytest.fixture
def request_(db):
    request = RequestFactory().get("/admin/")
    request.user = UserFactory(is_staff=True, is_superuser=True)
    return request


def found(model, request, term: str, *, django: bool = False) -> set[int]:
    model_admin = admin.site._registry[model]
    search = ModelAdmin.get_search_results if django else type(model_admin).get_search_results
    rows, _ = search(model_admin, request, model._default_manager.all(), term)
    return set(rows.values_list("pk", flat=True))


@pytest.mark.parametrize("model", [Grant, Optionee, Exercise, Termination])
def test_the_search_finds_what_django_s_search_finds(model, request_):
    load_demo()
    for term in TERMS:
        assert found(model, request_, term) == found(model, request_, term, django=True), term
    assert found(Grant, request_, "Garcia")  # and finds something


def test_a_word_no_index_can_look_up_is_joined_not_read_from_the_related_table(request_):
    """Without three letters or digits in a row ("on", "1,") a word is tested on the rows the
    list reads, through the join, as Django does: looking it up in the related table first
    would read that table whole."""
    load_demo()
    for term in ["on", "1,"]:
        with CaptureQueriesContext(connection) as queries:
            rows = found(Exercise, request_, term)
        assert rows == found(Exercise, request_, term, django=True), term
        alone = [q["sql"] for q in queries.captured_queries if "JOIN" not in q["sql"]]
        assert not [sql for sql in alone if '"grants_grant"' in sql.split("WHERE")[0]], alone


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the trigram index is PostgreSQL's")
def test_a_grant_number_is_looked_up_by_its_own_digits_first():
    """A value containing "VLNC-DEMO-0101" contains "0101": the index is asked for that run
    first, which the book's other numbers do not share, and the whole word is still tested."""
    condition = base._contains("number", "VLNC-DEMO-0101")
    assert condition.children == [
        ("number__icontains", "0101"),
        ("number__icontains", "VLNC-DEMO-0101"),
    ]
    assert base._contains("number", "0101").children == [("number__icontains", "0101")]
    load_demo()
    numbers_ = set(Grant.objects.filter(condition).values_list("number", flat=True))
    django_s = Grant.objects.filter(number__icontains="VLNC-DEMO-0101").values_list("number")
    assert numbers_ == {"VLNC-DEMO-0101"} == {number for (number,) in django_s}


def test_with_too_many_related_rows_to_list_it_joins_as_django_does(request_, monkeypatch):
    load_demo()
    monkeypatch.setattr(base, "SEARCH_IDS_AT_MOST", 1)
    for term in ["a", "VLNC", "example"]:
        assert found(Exercise, request_, term) == found(Exercise, request_, term, django=True)
        assert found(Grant, request_, term) == found(Grant, request_, term, django=True)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="pg_trgm is PostgreSQL's")
def test_a_search_by_e_mail_reads_the_trigram_index():
    load_demo()
    rows = Optionee.objects.filter(email__icontains="garcia").order_by()
    with connection.cursor() as cursor:
        # A demo book is small enough to read whole: tell the planner not to.
        cursor.execute("SET enable_seqscan = off")
        cursor.execute("SET enable_indexscan = off")
        plan = rows.explain()
        cursor.execute("RESET enable_seqscan")
        cursor.execute("RESET enable_indexscan")
    assert "optionee_email_trgm" in plan


def test_the_search_as_you_type_says_whose_grant_it_is(client, request_):
    load_demo()
    client.force_login(request_.user)
    found = client.get(
        "/admin/autocomplete/",
        {"term": "Garcia", "app_label": "grants", "model_name": "exercise", "field_name": "grant"},
        secure=True,
    ).json()["results"]
    assert found
    assert all(r["text"].endswith("— Maria Garcia") for r in found), found


def numbers(pks) -> list[str]:
    """The grant numbers of ``pks`` in the list's order."""
    return sorted(Grant.objects.filter(pk__in=pks).values_list("number", flat=True))


def shown_numbers(html: str) -> list[str]:
    """The grant numbers of the list's rows, in order."""
    return re.findall(r'<th class="field-number"><a href="[^"]*">([^<]+)</a>', html)


def test_a_search_that_fits_one_page_is_read_once(client, request_):
    """The rows of a first page that holds every match are its count: the search (a scan
    of a trigram index at a million grants) is not run a second time to count them."""
    load_demo()
    client.force_login(request_.user)
    with CaptureQueriesContext(connection) as queries:
        page = client.get("/admin/grants/grant/", {"q": "VLNC-DEMO"}, secure=True)
    html = page.content.decode()
    expected = numbers(found(Grant, request_, "VLNC-DEMO"))
    assert len(expected) > 1
    assert shown_numbers(html) == expected
    assert f"{len(expected)} grants" in html
    searches = [  # the grants' own column searched (the optionees' is looked up first)
        q["sql"]
        for q in queries.captured_queries
        if "%VLNC-DEMO%" in q["sql"] and '"grants_grant"."number"' in q["sql"]
    ]
    assert len(searches) == 1, searches
    assert "COUNT(" not in searches[0]


def test_a_search_over_several_pages_is_counted_and_paged(client, request_, monkeypatch):
    load_demo()
    monkeypatch.setattr(admin.site._registry[Grant], "list_per_page", 3)
    client.force_login(request_.user)
    every = numbers(found(Grant, request_, "a"))
    assert len(every) > 3
    first = client.get("/admin/grants/grant/", {"q": "a"}, secure=True).content.decode()
    second = client.get("/admin/grants/grant/", {"q": "a", "p": 2}, secure=True).content.decode()
    assert shown_numbers(first) == every[:3]
    assert shown_numbers(second) == every[3:6]
    assert f"{len(every)} grants" in first
    assert f"{len(every)} grants" in second


def test_a_filter_that_finds_nothing_says_so(client, request_):
    load_demo()
    client.force_login(request_.user)
    page = client.get("/admin/grants/grant/", {"q": "no-such-grant"}, secure=True)
    assert page.status_code == 200
    assert shown_numbers(page.content.decode()) == []
    assert "0 grants" in page.content.decode()


@pytest.mark.parametrize("order", ["", "2", "-3"])
def test_a_search_that_joins_lists_each_row_once_in_order(client, request_, monkeypatch, order):
    """With too many related rows to list, the search joins the tables and may match a row
    twice (Django then asks for DISTINCT); the first page's keys are read the same way."""
    load_demo()
    monkeypatch.setattr(base, "SEARCH_IDS_AT_MOST", 0)
    client.force_login(request_.user)
    query = {"q": "a", **({"o": order} if order else {})}
    page = client.get("/admin/grants/grant/", query, secure=True)
    shown = [row.pk for row in page.context["cl"].result_list]
    assert len(shown) == len(set(shown))
    assert set(shown) == found(Grant, request_, "a", django=True)
    expected = list(page.context["cl"].queryset.values_list("pk", flat=True))
    assert shown == expected
