"""The back office's grant list is served again only while nothing in the database has
changed (grants/admin/list_cache.py): served, it is the page drawn afresh with the
request's own CSRF token; any committed write, a waiting message, the next day or another
session draws it again."""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib import messages
from django.contrib.messages.storage.fallback import FallbackStorage
from django.contrib.sessions.backends.db import SessionStore
from django.core.cache import caches
from django.db import connection
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext

from grants.admin.list_cache import list_key
from grants.models import Optionee
from grants.seed import seed_grant
from tests.factories import UserFactory

URL = "/admin/grants/grant/"
FILTERED = "/admin/grants/grant/?status__exact=granted&expiring=30"
NOON = dt.datetime(2007, 5, 1, 12, 0, tzinfo=ZoneInfo("America/Chicago"))
postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the key is PostgreSQL's snapshot"
)
TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="(\w+)"')


def without_token(html: bytes) -> str:
    return TOKEN.sub("", html.decode())


@pytest.fixture
def committed_book(transactional_db):
    """The seed grant and a superuser, committed (each request sees the other's writes)."""
    with time_machine.travel(NOON):
        grant = seed_grant()
    staff = UserFactory(username="stockadmin", is_staff=True, is_superuser=True)
    caches["lists"].clear()
    return grant, staff


@pytest.fixture
def staff_client(committed_book):
    """The superuser signed in, with CSRF checked as a browser's requests are."""
    client = Client(enforce_csrf_checks=True)
    with time_machine.travel(NOON):
        client.force_login(committed_book[1])
    return client


def drawn_then_served(client, url):
    """The page drawn, then served again, with the queries the second request made."""
    drawn = client.get(url, secure=True)
    assert drawn.status_code == 200
    with CaptureQueriesContext(connection) as queries:
        served = client.get(url, secure=True)
    return drawn, served, queries


@postgresql_only
@time_machine.travel(NOON)
def test_the_list_is_served_again_until_anything_is_written(committed_book, staff_client):
    grant, client = committed_book[0], staff_client
    for url in [URL, FILTERED]:
        drawn, served, queries = drawn_then_served(client, url)
        assert without_token(served.content) == without_token(drawn.content)
        assert len(queries) == 3  # the session, the user and the key
        assert (grant.number in without_token(served.content)) == (url == URL)
    Optionee.objects.filter(pk=grant.optionee_id).update(legal_name="Jamie Renamed")
    assert "Jamie Renamed" in client.get(URL, secure=True).content.decode()


@postgresql_only
@time_machine.travel(NOON)
def test_the_dashboard_is_served_again_until_anything_is_written(committed_book, staff_client):
    grant, client = committed_book[0], staff_client
    drawn, served, queries = drawn_then_served(client, "/admin/")
    assert without_token(served.content) == without_token(drawn.content)
    assert len(queries) == 3
    assert "Awaiting payment" not in drawn.content.decode()
    grant.request_exercise(1000, NOON, payment_method="cash")  # committed: a new panel row
    again = client.get("/admin/", secure=True).content.decode()
    assert again != without_token(served.content)
    assert grant.number in again


@postgresql_only
@time_machine.travel(NOON)
def test_a_served_page_carries_the_request_s_own_token(committed_book, staff_client):
    grant, client = committed_book[0], staff_client
    drawn = client.get(URL, secure=True)
    client.cookies.pop("csrftoken", None)  # a new CSRF secret for the next request
    served = client.get(URL, secure=True)
    assert "csrftoken" in served.cookies  # the new secret, sent with the page

    def post_with_token_of(page):
        token = TOKEN.search(page.content.decode()).group(1)
        return client.post(
            URL,
            {"action": "", "_selected_action": [grant.pk], "csrfmiddlewaretoken": token},
            secure=True,
            headers={"referer": f"https://testserver{URL}"},
        )

    assert post_with_token_of(drawn).status_code == 403  # the old secret's token
    assert post_with_token_of(served).status_code == 200  # the request's own


@postgresql_only
def test_a_message_the_next_day_or_another_session_draw_the_list_again(committed_book):
    _, staff = committed_book

    sessions = {}
    for name in ["one", "two"]:
        sessions[name] = SessionStore()
        sessions[name].create()

    def request_at(moment, session_key="one", note=None):
        request = RequestFactory().get(FILTERED)
        request.user = staff
        request.session = SessionStore(session_key=sessions[session_key].session_key)
        request._messages = FallbackStorage(request)
        if note:
            messages.info(request, note)
        with time_machine.travel(moment):
            return list_key(request)

    key = request_at(NOON)
    assert key is not None
    assert key == request_at(NOON + dt.timedelta(hours=11, minutes=59))
    assert request_at(NOON, note="The grant was changed.") is None
    assert request_at(NOON + dt.timedelta(hours=12)) != key  # midnight in Chicago
    assert request_at(NOON, session_key="two") != key


@pytest.mark.django_db
@time_machine.travel(NOON)
def test_inside_a_transaction_the_list_is_always_drawn_afresh(client):
    """The request's own writes would not change the snapshot: a page drawn inside a
    transaction is neither kept nor served."""
    grant = seed_grant()
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    client.get(URL, secure=True)
    Optionee.objects.filter(pk=grant.optionee_id).update(legal_name="Jamie Renamed")
    assert "Jamie Renamed" in client.get(URL, secure=True).content.decode()
