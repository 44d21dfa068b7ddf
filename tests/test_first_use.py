"""What a new user met on a first look: the site's icon, the refusal and expired-form pages
in the site's layout, the exercise list's column names, and signing out."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from grants.demo import load_demo

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo():
    load_demo()
    return {user.username: user for user in get_user_model().objects.all()}


def words(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


ICON = '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">'


def test_the_portal_and_the_back_office_show_our_icon(client, demo):
    assert ICON in words(client.get(reverse("login")))
    assert ICON in words(client.get(reverse("admin:login")))
    client.force_login(demo["stockadmin"])
    assert ICON in words(client.get(reverse("admin:index")))
    assert ICON in words(client.get(reverse("admin:grants_grant_changelist")))
    icon = client.get("/static/favicon.svg")
    assert icon.status_code == 200
    assert b"<svg" in b"".join(icon.streaming_content)


def test_a_refused_page_says_so_in_the_site_layout(client, demo):
    client.force_login(demo["auditor"])  # reads the book, changes nothing
    response = client.get(reverse("admin:grants_grant_add"))
    assert response.status_code == 403
    shown = words(response)
    assert "You may not open this page" in shown
    assert 'class="navbar' in shown
    assert ICON in shown


def test_a_form_sent_without_its_token_says_what_to_do(demo):
    browser = Client(enforce_csrf_checks=True)
    response = browser.post(reverse("login"), {"username": "mgarcia", "password": "x"})
    assert response.status_code == 403
    shown = words(response)
    assert "This form could not be sent" in shown
    assert "reload the page" in shown.lower()
    assert 'class="navbar' in shown


def test_the_exercise_list_names_the_aggregate_price(client, demo):
    client.force_login(demo["ewalsh"])
    shown = words(client.get(reverse("exercise_list")))
    assert '<th scope="col" class="num">Aggregate price</th>' in shown


def test_signing_out_says_you_are_signed_out(client, demo):
    client.force_login(demo["mgarcia"])
    dashboard = words(client.get(reverse("dashboard")))
    assert f'<form method="post" action="{reverse("logout")}">' in dashboard
    response = client.post(reverse("logout"), follow=True)
    assert response.redirect_chain == [(reverse("signed_out"), 302)]
    shown = words(response)
    assert "You are signed out" in shown
    assert 'class="navbar' in shown
    assert f'href="{reverse("login")}"' in shown
    assert client.get(reverse("dashboard")).status_code == 302


def test_the_signed_out_page_sends_someone_still_signed_in_to_their_options(client, demo):
    client.force_login(demo["mgarcia"])
    assert client.get(reverse("signed_out"))["Location"] == reverse("dashboard")
