"""The back office's search box: each table looks its own column up (by its trigram index
on PostgreSQL) and the rows found through a relation are matched by key. It finds what
Django's own search, one query joining the tables, finds."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.contrib.admin import ModelAdmin
from django.db import connection
from django.test import RequestFactory

from grants.admin import base
from grants.demo import load_demo
from grants.models import Exercise, Grant, Optionee, Termination
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

TERMS = ["Garcia", "garcia", "VLNC-2005", "demo-01", "maria garcia", "@example", "nobody"]
TERMS += ["'R. Ak'"]  # a quoted phrase is one word


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
