"""Sign-in throttling, through the real sign-in form (django-axes: tests that are not about
signing in use ``force_login``).

- Five failures for one user name from one address lock that name there (an hour).
- Twenty failures from one address, whatever the names, lock the address: someone trying
  many user names from one place is stopped too. Signing in to one's own account between
  tries does not clear the address's count.
- Behind a proxy the person's address comes from ``X-Forwarded-For`` only when
  ``TRUSTED_PROXY_COUNT`` says how many proxies to trust; otherwise the header is ignored,
  since anyone can send it.
"""

import pytest
from django.urls import reverse

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
PASSWORD = "a-long-portal-password"
LOCKED = "Too many failed sign-ins"


@pytest.fixture
def person():
    user = UserFactory(username="optionee1")
    user.set_password(PASSWORD)
    user.save()
    return user


def sign_in(client, username, password, address="203.0.113.7", forwarded=None):
    extra = {"REMOTE_ADDR": address}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return client.post(reverse("login"), {"username": username, "password": password}, **extra)


def signed_in(response) -> bool:
    return response.status_code == 302 and response["Location"] == "/"


def test_five_failures_lock_one_name_at_one_address(client, person):
    for _ in range(4):
        assert sign_in(client, "optionee1", "wrong").status_code == 200
    assert sign_in(client, "optionee1", "wrong").status_code == 429  # the fifth locks
    locked = sign_in(client, "optionee1", PASSWORD)
    assert locked.status_code == 429
    assert LOCKED in locked.content.decode()
    assert signed_in(sign_in(client, "optionee1", PASSWORD, address="198.51.100.9"))


def test_one_address_trying_many_names_is_locked_out(client, person):
    for n in range(19):
        assert sign_in(client, f"guess{n}", "wrong").status_code == 200
    assert signed_in(sign_in(client, "optionee1", PASSWORD))  # 19 failures: still open
    client.logout()
    assert sign_in(client, "guess19", "wrong").status_code == 429  # the twentieth locks
    locked = sign_in(client, "optionee1", PASSWORD)
    assert locked.status_code == 429, "20 failures from one address lock it"
    assert LOCKED in locked.content.decode()
    assert sign_in(client, "someone-else", "wrong").status_code == 429
    assert signed_in(sign_in(client, "optionee1", PASSWORD, address="198.51.100.9"))


def test_signing_in_between_guesses_does_not_clear_the_address(client, person):
    for n in range(20):
        if n % 4 == 3:
            assert signed_in(sign_in(client, "optionee1", PASSWORD))
            client.logout()
        sign_in(client, f"guess{n}", "wrong")
    assert sign_in(client, "optionee1", PASSWORD).status_code == 429


def test_without_trusted_proxies_a_forwarded_address_is_ignored(client, person, settings):
    settings.TRUSTED_PROXY_COUNT = 0
    for n in range(20):  # a new made-up address each time: still one address
        sign_in(client, f"guess{n}", "wrong", forwarded=f"192.0.2.{n}")
    assert sign_in(client, "optionee1", PASSWORD, forwarded="192.0.2.200").status_code == 429


def test_behind_a_trusted_proxy_each_person_has_their_own_address(client, person, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    proxy = "10.0.0.2"
    for n in range(20):  # someone at 192.0.2.1, forging an address in front of theirs
        sign_in(client, f"guess{n}", "wrong", address=proxy, forwarded=f"198.18.0.{n}, 192.0.2.1")
    assert sign_in(client, "x", "y", address=proxy, forwarded="192.0.2.1").status_code == 429
    colleague = sign_in(client, "optionee1", PASSWORD, address=proxy, forwarded="192.0.2.50")
    assert signed_in(colleague), "another person behind the same proxy is not locked out"


def test_behind_two_trusted_proxies_the_address_the_outer_one_saw_counts(client, person, settings):
    settings.TRUSTED_PROXY_COUNT = 2
    for n in range(20):
        sign_in(
            client, f"g{n}", "x", address="10.0.0.3", forwarded=f"1.1.1.{n}, 192.0.2.1, 10.0.0.2"
        )
    locked = sign_in(
        client, "optionee1", PASSWORD, address="10.0.0.3", forwarded="192.0.2.1, 10.0.0.2"
    )
    assert locked.status_code == 429
    other = sign_in(
        client, "optionee1", PASSWORD, address="10.0.0.3", forwarded="192.0.2.9, 10.0.0.2"
    )
    assert signed_in(other)


def test_the_throttle_settings_are_those_documented(settings):
    assert settings.AXES_FAILURE_LIMIT == 5
    assert settings.ADDRESS_FAILURE_LIMIT == 20
    assert settings.TRUSTED_PROXY_COUNT == 0
