"""Malformed ids in every URL of the portal and the back office: never a server error.

The walk reads the URL resolver (as tests/test_access_matrix.py does) and fills every path
parameter of every route with values that are not ids: letters, a number too large for any
column, a negative or decimal number, a NUL byte, a no-break space, a digit of another
script. What a person gets is a 404, or, on the admin's own object screens, its usual
redirect to the index with the message that no such row exists; a screen that only takes
a POST is posted to as well. The suite runs on SQLite and on PostgreSQL, which refuse
different things (PostgreSQL refuses a NUL in text, SQLite an integer over 64 bits).

A NUL byte anywhere in the address is refused before any view reads it: in the path a
404, in the query string a 400 that says so.
"""

from __future__ import annotations

import re
from urllib.parse import unquote

import pytest
from django.urls import get_resolver, reverse
from django.urls.resolvers import RegexPattern

from tests.test_access_matrix import _patterns, demo_book

pytestmark = pytest.mark.django_db

MALFORMED = [
    "abc",
    "99999999999999999999999",
    "-1",
    "1%00",
    "%D9%A1",  # ١, the Arabic-Indic digit one
    "1%20OR%201%3D1",
]
ADMIN_INDEX = reverse("admin:index")


def malformed_urls() -> list[str]:
    """Each route with a parameter, once per malformed value in every parameter."""
    urls = []
    for pattern, prefix, _ in _patterns(get_resolver().url_patterns):
        route = str(pattern.pattern)
        if isinstance(pattern.pattern, RegexPattern):
            if pattern.pattern.regex.groups == 0 or "(?P<" in route:
                continue  # no parameter, or the admin's app index and catch-all
            filled = [re.sub(r"\([^)]*\)", value, route) for value in MALFORMED]
            urls += ["/" + prefix + url.lstrip("^").rstrip("$") for url in filled]
        elif pattern.pattern.converters:
            urls += [
                "/" + prefix + re.sub(r"<[^>]+>", value, route)
                for value in MALFORMED
                if not route.startswith("accounts/password/reset/")  # a token, not an id
            ]
    return urls


@pytest.fixture
def book(db):
    return demo_book()


@pytest.mark.parametrize("persona", ["stockadmin", "mgarcia"])
def test_no_malformed_id_in_any_url_is_a_server_error(client, book, persona):
    if persona != "anonymous":
        client.force_login(book.users[persona])
    client.raise_request_exception = False
    urls = malformed_urls()
    assert len(urls) > 300
    wrong = []
    for url in urls:
        for method in ("get", "post"):
            response = getattr(client, method)(url)
            if not acceptable(response, url, persona):
                wrong.append(f"{method.upper()} {url}: {response.status_code}")
            if response.status_code != 405:
                break  # a screen that takes a POST is posted to as well
    assert wrong == [], "\n".join(wrong)


def acceptable(response, url: str, persona: str) -> bool:
    """A 404; or, in the back office, the sign-in page for who is not staff, a refusal (403)
    for who may not open the screen at all, a 405 for a screen that takes only a POST
    (posted to next), the admin's redirect to its index (its "no such row" message), or
    its redirect from a row's old address to its change page."""
    status = response.status_code
    if status == 404:
        return True
    if not url.startswith("/admin/"):
        return (
            persona == "anonymous" and status == 302 and "/accounts/login/" in response["Location"]
        )
    if status in (403, 405):
        return "%00" not in url  # a NUL is refused before anything else
    if status == 302:
        location = unquote(response["Location"])
        return location in (ADMIN_INDEX, unquote(f"{url}change/")) or location.startswith(
            "/admin/login/"
        )
    return False


@pytest.mark.parametrize(
    "url",
    [
        "/admin/grants/grant/abc/change/",
        "/admin/grants/grant/99999999999999999999999/change/",
        "/admin/grants/optionee/1.5/change/",
    ],
)
def test_the_admin_change_page_of_a_malformed_id_says_there_is_no_such_row(client, book, url):
    client.force_login(book.users["stockadmin"])
    response = client.get(url, follow=True)
    assert response.redirect_chain[-1][0] == ADMIN_INDEX
    shown = response.content.decode()
    assert "doesn’t exist. Perhaps it was deleted?" in shown


@pytest.mark.parametrize(
    "url",
    [
        "/grants/VLNC-DEMO-0101%00/",
        "/grants/%00/exercise/",
        "/exercises/1%00/",
        "/admin/grants/grant/1%00/change/",
        "/admin/grants/notice/%00/print/",
        "/healthz%00",
        "/static/css/portal.css%00",
    ],
)
def test_a_nul_byte_in_the_path_is_a_404(client, book, url):
    client.force_login(book.users["mgarcia"])
    response = client.get(url)
    assert response.status_code == 404
    assert "Page not found" in response.content.decode()


@pytest.mark.parametrize(
    "url",
    [
        "/?q=%00",
        "/accounts/login/?next=/%00",
        "/admin/grants/grant/?q=VLNC%00",
        "/admin/grants/optionee/?q=%00&o=1",
        "/admin/reports/outstanding-options/?company=1%00",
        "/exercises/?%00=1",
    ],
)
@pytest.mark.parametrize("persona", ["stockadmin", "anonymous"])
def test_a_nul_byte_in_the_query_is_a_400_that_says_so(client, book, url, persona):
    if persona != "anonymous":
        client.force_login(book.users[persona])
    response = client.get(url)
    assert response.status_code == 400
    assert "The address holds a NUL character (%00)" in response.content.decode()


def test_a_nul_byte_typed_in_the_sign_in_form_is_refused_as_a_wrong_password(client, book):
    """Django's form refuses the NUL before anything reads the name."""
    response = client.post(reverse("login"), {"username": "mgarcia\x00", "password": "x\x00"})
    assert response.status_code == 200
    assert "Check your user name and password." in response.content.decode()
