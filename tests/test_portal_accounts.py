"""Signing in and out, throttling, and looking after one's own password."""

import re

import pytest
from django.core import mail
from django.urls import reverse

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
PASSWORD = "a-long-portal-password"


@pytest.fixture
def user():
    person = UserFactory(username="optionee1", email="optionee1@example.com")
    person.set_password(PASSWORD)
    person.save()
    return person


def sign_in(client, password=PASSWORD):
    return client.post(reverse("login"), {"username": "optionee1", "password": password})


def test_sign_in_and_sign_out_through_the_forms(client, user):
    assert sign_in(client)["Location"] == "/"
    assert client.get(reverse("dashboard")).status_code == 200
    client.post(reverse("logout"))
    assert client.get(reverse("dashboard")).status_code == 302


def test_a_wrong_password_says_what_to_check(client, user):
    response = sign_in(client, "wrong")
    assert response.status_code == 200
    assert "enter a correct username and password" in response.content.decode()


def test_repeated_failures_lock_the_account_out_even_with_the_right_password(client, user):
    for _ in range(5):
        sign_in(client, "wrong")
    locked = sign_in(client)
    assert locked.status_code == 429
    assert "Too many failed sign-ins" in locked.content.decode()
    assert client.get(reverse("dashboard")).status_code == 302


def test_forgotten_password_is_reset_by_email(client, user):
    response = client.post(reverse("password_reset"), {"email": "optionee1@example.com"})
    assert response["Location"] == reverse("password_reset_done")
    [message] = mail.outbox
    link = re.search(r"https?://[^/]+(/accounts/password/reset/\S+/)", message.body).group(1)
    form = client.get(link, follow=True)
    assert "Choose a new password" in form.content.decode()
    done = client.post(
        form.redirect_chain[-1][0],
        {"new_password1": "another-long-passphrase", "new_password2": "another-long-passphrase"},
    )
    assert done["Location"] == reverse("password_reset_complete")
    assert sign_in(client, "another-long-passphrase")["Location"] == "/"


def test_reset_for_an_unknown_address_reveals_nothing(client, user):
    response = client.post(reverse("password_reset"), {"email": "nobody@example.com"})
    assert response["Location"] == reverse("password_reset_done")
    assert mail.outbox == []


def test_change_password(client, user):
    client.force_login(user)
    response = client.post(
        reverse("password_change"),
        {
            "old_password": PASSWORD,
            "new_password1": "a-brand-new-passphrase",
            "new_password2": "a-brand-new-passphrase",
        },
    )
    assert response["Location"] == reverse("password_change_done")
    user.refresh_from_db()
    assert user.check_password("a-brand-new-passphrase")
