"""The back office's second factor (``ADMIN_REQUIRE_2FA``), through the real sign-in forms.

With the setting on, a password alone opens no admin page: staff with a device enter its
code; staff without one set one up first. Codes are computed here from the device's key
exactly as an authenticator app computes them (RFC 6238). With the setting off nothing
changes, and the portal never asks for a code.
"""

import datetime as dt

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.factories import UserFactory
from tests.test_access_matrix import (  # the walk of every URL, and its demo book
    ADMIN_INDEX,
    ADMIN_SIGN_IN,
    PERSONAS,
    demo_book,
    every_route,
    outcome,
)

pytestmark = pytest.mark.django_db
PASSWORD = "a-long-staff-password"
INDEX = reverse("admin:index")
LOGIN = reverse("admin:login")
VERIFY = reverse("admin:otp_verify")
ENROL = reverse("admin:otp_enrol")


@pytest.fixture
def required(settings):
    settings.ADMIN_REQUIRE_2FA = True


@pytest.fixture
def staff():
    user = UserFactory(username="clerk", is_staff=True, is_superuser=True)
    user.set_password(PASSWORD)
    user.save()
    return user


@pytest.fixture
def device(staff):
    return TOTPDevice.objects.create(user=staff, name="Phone", confirmed=True)


def code(device) -> str:
    """The code the app shows now."""
    return f"{totp(device.bin_key, step=device.step, digits=device.digits):06d}"


def sign_in(client, password=PASSWORD, next_url=INDEX):
    return client.post(LOGIN, {"username": "clerk", "password": password, "next": next_url})


def page(response) -> str:
    return response.content.decode()


# --------------------------------------------------------------------------- setting on


def test_a_password_alone_does_not_open_the_back_office(client, required, staff, device):
    assert sign_in(client)["Location"] == INDEX
    # Signed in, but the site does not admit the session yet: every page sends it back to
    # the sign-in page, which passes it on to the code.
    for url in (INDEX, reverse("admin:grants_grant_changelist"), reverse("admin:password_change")):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(f"{LOGIN}?next="), url
    to_code = client.get(f"{LOGIN}?next={INDEX}")
    assert to_code["Location"] == f"{VERIFY}?next=%2Fadmin%2F"
    assert client.get(INDEX).status_code == 302


def test_the_code_of_the_device_completes_the_sign_in(client, required, staff, device):
    sign_in(client)
    form = client.get(f"{VERIFY}?next={INDEX}")
    assert form.status_code == 200
    assert "Enter the 6-digit code your authenticator app shows" in page(form)

    done = client.post(VERIFY, {"otp_token": code(device), "next": INDEX})

    assert done["Location"] == INDEX
    assert client.get(INDEX).status_code == 200
    assert client.get(reverse("admin:grants_grant_changelist")).status_code == 200
    assert client.get(VERIFY)["Location"] == INDEX  # verified: nothing more to ask


def test_a_wrong_code_is_refused_and_throttles_the_device(client, required, staff, device):
    sign_in(client)
    now = timezone.now()
    with time_machine.travel(now, tick=False):  # the clock stands still: no wait is over
        wrong = f"{(int(code(device)) + 1) % 1_000_000:06d}"

        refused = client.post(VERIFY, {"otp_token": wrong, "next": INDEX})

        assert refused.status_code == 200
        assert "That code is not right" in page(refused)
        assert client.get(INDEX).status_code == 302
        device.refresh_from_db()
        assert device.throttling_failure_count == 1
        # Straight after a failure even the right code waits (django-otp's back-off) ...
        throttled = client.post(VERIFY, {"otp_token": code(device), "next": INDEX})
        assert "Too many wrong codes (1 in a row)" in page(throttled)
        assert client.get(INDEX).status_code == 302
    # ... and a few seconds later it is taken.
    with time_machine.travel(now + dt.timedelta(seconds=5), tick=False):
        assert client.post(VERIFY, {"otp_token": code(device)})["Location"] == INDEX
        assert client.get(INDEX).status_code == 200
    device.refresh_from_db()
    assert device.throttling_failure_count == 0


def test_a_missing_or_non_numeric_code_says_what_to_enter(client, required, staff, device):
    sign_in(client)
    assert "Enter the 6-digit code" in page(client.post(VERIFY, {"otp_token": ""}))
    refused = client.post(VERIFY, {"otp_token": "<b>12</b>"})
    assert "That code is not right" in page(refused)
    assert "<b>12</b>" not in page(refused)
    assert client.get(INDEX).status_code == 302


def test_a_code_works_once(client, required, staff, device):
    sign_in(client)
    used = code(device)
    assert client.post(VERIFY, {"otp_token": used})["Location"] == INDEX
    client.post(reverse("logout"))

    sign_in(client)
    replayed = client.post(VERIFY, {"otp_token": used})
    assert "That code is not right" in page(replayed)
    assert client.get(INDEX).status_code == 302


def test_another_persons_device_cannot_be_chosen(client, required, staff, device):
    other = UserFactory(is_staff=True)
    theirs = TOTPDevice.objects.create(user=other, name="Theirs", confirmed=True)
    sign_in(client)

    refused = client.post(VERIFY, {"otp_device": theirs.persistent_id, "otp_token": code(theirs)})

    assert "That code is not right" in page(refused)
    assert client.get(INDEX).status_code == 302


def test_staff_without_a_device_enrol_end_to_end(client, required, staff):
    assert sign_in(client)["Location"] == INDEX
    assert client.get(INDEX)["Location"] == f"{LOGIN}?next=/admin/"
    assert client.get(f"{LOGIN}?next=/admin/")["Location"] == f"{ENROL}?next=%2Fadmin%2F"
    assert client.get(f"{VERIFY}?next=/admin/")["Location"] == f"{ENROL}?next=%2Fadmin%2F"

    setup = client.get(f"{ENROL}?next=/admin/")

    assert setup.status_code == 200
    pending = TOTPDevice.objects.get(user=staff)
    assert not pending.confirmed
    html = page(setup)
    assert "<svg" in html  # the QR code, drawn on the server
    assert "otpauth://totp/Equity%20administration%3Aclerk?secret=" in html
    secret = setup.context["secret"]
    assert secret.replace(" ", "") in pending.config_url
    # Reloading the page shows the same secret: one pending device per person.
    assert client.get(ENROL).context["secret"] == secret
    assert TOTPDevice.objects.filter(user=staff).count() == 1

    wrong = f"{(int(code(pending)) + 1) % 1_000_000:06d}"
    refused = client.post(ENROL, {"otp_token": wrong, "next": INDEX})
    assert "That code is not right" in page(refused)
    pending.refresh_from_db()
    assert not pending.confirmed
    assert client.get(INDEX).status_code == 302

    start = timezone.now()
    with time_machine.travel(start + dt.timedelta(seconds=5), tick=False):
        confirmed = client.post(ENROL, {"otp_token": code(pending), "next": INDEX})
        assert confirmed["Location"] == INDEX
        assert client.get(INDEX).status_code == 200
    pending.refresh_from_db()
    assert pending.confirmed

    # The next sign-in (with a fresh code) asks for the enrolled device, and enrolment is closed.
    with time_machine.travel(start + dt.timedelta(seconds=65), tick=False):
        client.post(reverse("logout"))
        sign_in(client)
        assert client.get(ENROL)["Location"] == f"{VERIFY}?next=%2Fadmin%2F"
        assert client.post(VERIFY, {"otp_token": code(pending)})["Location"] == INDEX
        assert client.get(INDEX).status_code == 200


def test_enrolment_cannot_replace_a_device_with_only_the_password(client, required, staff, device):
    sign_in(client)
    response = client.post(ENROL, {"otp_token": "123456"})
    assert response["Location"] == f"{VERIFY}?next=%2Fadmin%2F"
    assert list(TOTPDevice.objects.filter(user=staff)) == [device]


def test_the_code_page_leads_only_to_this_site(client, required, staff, device):
    sign_in(client)
    response = client.post(VERIFY, {"otp_token": code(device), "next": "https://evil.example/"})
    assert response["Location"] == INDEX


def test_signing_out_before_the_code(client, required, staff, device):
    sign_in(client)
    form = client.get(VERIFY)
    assert reverse("logout") in page(form)
    response = client.post(reverse("logout"), {"next": LOGIN})
    assert response["Location"] == LOGIN
    assert client.get(VERIFY)["Location"].startswith(f"{LOGIN}?next=")
    assert "Log in" in page(client.get(LOGIN))


def test_the_sign_in_page_says_a_code_comes_next(client, required):
    assert "6-digit code of your authenticator app" in page(client.get(LOGIN))


def test_wrong_passwords_still_lock_the_admin_sign_in(client, required, staff, device):
    for _ in range(4):
        assert "enter the correct username and password" in page(sign_in(client, "wrong"))
    assert sign_in(client, "wrong").status_code == 429  # the fifth failure locks
    locked = sign_in(client)
    assert locked.status_code == 429
    assert client.get(VERIFY)["Location"].startswith(f"{LOGIN}?next=")


def test_people_who_are_not_staff_never_reach_the_code_pages(client, required):
    client.force_login(UserFactory())
    for url in (VERIFY, ENROL):
        assert client.get(url)["Location"] == f"{LOGIN}?next={url}"
    client.logout()
    assert client.get(ENROL)["Location"].startswith(f"{LOGIN}?next=")


def test_the_portal_never_asks_for_a_code(client, required):
    optionee = UserFactory(username="optionee1")
    optionee.set_password(PASSWORD)
    optionee.save()
    signed_in = client.post(reverse("login"), {"username": "optionee1", "password": PASSWORD})
    assert signed_in["Location"] == "/"
    assert client.get(reverse("dashboard")).status_code == 200
    assert client.get(reverse("exercise_list")).status_code == 200


# --------------------------------------------------------------------------- setting off


def test_with_the_setting_off_the_password_is_enough(client, settings, staff, device):
    settings.ADMIN_REQUIRE_2FA = False
    assert "authenticator app" not in page(client.get(LOGIN))
    assert sign_in(client)["Location"] == INDEX
    assert client.get(INDEX).status_code == 200
    # The code pages have nothing to ask and pass straight on.
    assert client.get(VERIFY)["Location"] == INDEX
    assert client.get(f"{ENROL}?next=/admin/grants/grant/")["Location"] == "/admin/grants/grant/"
    assert list(TOTPDevice.objects.all()) == [device]


# --------------------------------------------------------------------------- every URL


def verified(client, device):
    """What ``django_otp.login`` does at the end of the code step: the session records the
    device that verified it."""
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()


def test_every_admin_url_waits_for_the_code_and_then_opens_as_without_it(client, required):
    """The access matrix's walk, with the setting on, as the stock administrator."""
    book = demo_book()
    administrator = book.users["stockadmin"]
    column = PERSONAS.index("stockadmin")
    client.force_login(administrator)  # the password step, and nothing more
    enrol = f"→ {ENROL}?next=%2Fadmin%2F"
    before_the_code = {
        "admin:login": enrol,
        "admin:logout": ADMIN_INDEX,
        "admin:otp_verify": enrol,
        "admin:otp_enrol": 200,
    }
    routes = every_route(book)
    for route in routes:
        got = outcome(client.get(route.url), route.url)
        if route.url.startswith("/admin/"):
            assert got == before_the_code.get(route.key, ADMIN_SIGN_IN), route.url
        else:  # the portal does not ask for a code
            assert got == route.expected[column], route.url

    device = TOTPDevice.objects.get(user=administrator)
    device.confirmed = True
    device.save()
    verified(client, device)
    for route in routes:
        assert outcome(client.get(route.url), route.url) == route.expected[column], route.url
