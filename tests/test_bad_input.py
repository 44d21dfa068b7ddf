"""Malformed input to every form, command and import: a clear message, and nothing written.

Shares negative, fractional, huge (10**30) and not numbers; dates that do not exist
(2025-02-30) or are far in the future (9999-12-31); files in the wrong encoding (latin-1,
UTF-16) or too large; HTML and SQL in text fields. Each screen answers with a message a
person can act on (never a server error), and the book is left exactly as it was
(``changes_nothing`` plus the rows those screens could add). Text is stored as typed and
shown escaped, never executed.

"Now" is Tuesday 2007-05-01, 10:00 in Austin: the seed grant has 493,750 vested shares.
"""

from __future__ import annotations

import datetime as dt
import html
import re
import uuid
from contextlib import contextmanager
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from grants.models import (
    Acknowledgement,
    ClosingPrice,
    Company,
    Grant,
    GrantTerms,
    Notice,
    NoticeAddress,
    Optionee,
    Plan,
    Successor,
    Termination,
)
from grants.prices import MAX_BYTES as PRICE_FILE_LIMIT
from tests.conftest import d
from tests.factories import OptioneeFactory, UserFactory, changes_nothing

CHICAGO = ZoneInfo("America/Chicago")
TODAY = d("2007-05-01")
SCRIPT = "<script>alert(1)</script>"
ESCAPED_SCRIPT = "&lt;script&gt;alert(1)&lt;/script&gt;"
BOBBY = "Robert'); DROP TABLE grants_grant;--"
HUGE = str(10**30)  # 31 digits
TWENTY_NINES = "9" * 20  # as long as a shares box takes

# The messages of the rules, as the person reads them.
NOT_POSITIVE = "Enter a number of shares greater than zero."
FRACTION = "1.5 is not a whole number; the option may be exercised for whole shares only."
TOO_LONG = "Ensure this value has at most 20 characters (it has 31)."
TOO_MANY = (
    "Only 493,750 shares are exercisable on 2007-05-01; you asked for 99,999,999,999,999,999,999."
)
NOT_A_NUMBER = "“abc” is not a number of shares; enter a whole number such as 1000."
NO_NUMBER = "Enter a whole number of shares."
REQUIRED = "This field is required."
NOT_A_DATE = "Enter a valid date."
ALTERED = "This form was incomplete or altered before it was sent, so nothing was saved."

BAD_SHARES = [
    ("-5", NOT_POSITIVE),
    ("0", NOT_POSITIVE),
    ("1.5", FRACTION),
    (HUGE, TOO_LONG),
    (TWENTY_NINES, TOO_MANY),
    ("abc", NOT_A_NUMBER),
    ("NaN", "“NaN” is not a number of shares"),
    ("", REQUIRED),
    ("1;DROP TABLE x", "“1;DROP TABLE x” is not a number of shares"),
]


def far_future(what: str) -> str:
    return (
        f"{what} 9999-12-31 is too far in the future; check the year (the book keeps dates "
        f"from 1900-01-01 through 2999-12-31)."
    )


@pytest.fixture(autouse=True)
def tuesday_10am():
    with time_machine.travel(dt.datetime(2007, 5, 1, 10, tzinfo=CHICAGO), tick=False):
        yield


@pytest.fixture
def akridge(grant):
    """The seed optionee, signed in to the portal."""
    optionee = grant.optionee
    optionee.user = UserFactory(username="jakridge", email="james@example.com")
    optionee.save()
    return optionee.user


@pytest.fixture
def portal(client, akridge):
    client.force_login(akridge)
    return client


@pytest.fixture
def staff(client, grant):
    client.force_login(UserFactory(username="stockadmin", is_staff=True, is_superuser=True))
    return client


def text(response) -> str:
    """The page as a person reads it: entities decoded, whitespace collapsed."""
    assert response.status_code == 200, response.status_code
    return re.sub(r"\s+", " ", html.unescape(response.content.decode()))


def raw(response) -> str:
    return response.content.decode()


OTHER_ROWS = (ClosingPrice, Optionee, Plan, GrantTerms, Successor, Acknowledgement, Company)


def other_rows() -> dict:
    counts = {model.__name__: model.objects.count() for model in OTHER_ROWS}
    counts.update(
        {f"{model.__name__}.history": model.history.count() for model in OTHER_ROWS}
        | {"Notice.history": Notice.history.count()}
        | {"NoticeAddress.history": NoticeAddress.history.count()}
    )
    counts["prices"] = list(ClosingPrice.objects.order_by("pk").values_list("date", "price"))
    return counts


@contextmanager
def nothing_written(*grants: Grant):
    """The block leaves the book as it found it: every contract row, each grant's stored
    fields, and the other rows a screen or an import could add."""
    before = other_rows()
    with changes_nothing(*grants):
        yield
    assert other_rows() == before


# --------------------------------------------------------------------------- model API


@pytest.mark.parametrize(
    ("shares", "code", "message"),
    [
        (
            10**30,
            "more_than_exercisable",
            "Only 493,750 shares are exercisable on 2007-05-01; you asked for "
            "1,000,000,000,000,000,000,000,000,000,000.",
        ),
        (-5, "shares_not_positive", NOT_POSITIVE),
        (None, "shares_not_a_number", "“None” is not a number of shares"),
        (1.5, "fractional_shares", FRACTION),
        ("abc", "shares_not_a_number", NOT_A_NUMBER),
        ("Infinity", "shares_not_a_number", "“Infinity” is not a number of shares"),
        (True, "shares_not_a_number", NO_NUMBER),
        ("1e3", "shares_not_a_number", "“1e3” is not a number of shares"),
        ("١٠٠٠", "shares_not_a_number", "is not a number of shares"),  # Arabic-Indic digits
    ],
)
def test_request_exercise_refuses_malformed_shares(grant, shares, code, message):
    with nothing_written(grant), pytest.raises(ValidationError) as refused:
        grant.request_exercise(shares, TODAY, payment_method="cash")
    assert refused.value.code == code
    assert message in refused.value.messages[0]


@pytest.mark.parametrize(
    ("at", "message"),
    [
        ("2025-02-30", "Give the date (or aware date and time) the notice was received."),
        (None, "Give the date (or aware date and time) the notice was received."),
        (dt.date(9999, 12, 31), far_future("The date the notice was received")),
        (
            dt.datetime(9999, 12, 31, 18, tzinfo=CHICAGO),
            far_future("The date the notice was received"),
        ),
        (dt.datetime(2007, 5, 1, 10), "has no time zone"),
    ],
)
def test_request_exercise_refuses_malformed_dates(grant, at, message):
    with nothing_written(grant), pytest.raises(ValidationError) as refused:
        grant.request_exercise(1_000, at, payment_method="cash")
    assert message in refused.value.messages[0]


def test_request_exercise_refuses_an_unknown_payment_method(grant):
    with nothing_written(grant), pytest.raises(ValidationError) as refused:
        grant.request_exercise(1_000, TODAY, payment_method="'; DELETE FROM grants_exercise;--")
    assert refused.value.code == "bad_payment_method"


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda o: o.terminate("2025-02-30"), "The termination date must be a date"),
        (lambda o: o.terminate(dt.date(9999, 12, 31)), far_future("The termination date")),
        (lambda o: o.terminate(TODAY, "fired"), "“fired” is not a termination reason"),
        (
            lambda o: o.change_notice_address("A\nB", received_on=dt.date(9999, 12, 31)),
            far_future("The date the notice was received"),
        ),
        (
            lambda o: o.record_section16_liability(TODAY, dt.date(9999, 12, 31)),
            far_future("The last day of liability"),
        ),
        (
            lambda o: o.company.suspend_registration(dt.date(9999, 12, 31)),
            far_future("The first day of the suspension"),
        ),
        (lambda o: o.change_notice_address("   ", received_on=TODAY), "Enter the new notice"),
    ],
)
def test_the_other_verbs_refuse_malformed_dates_and_values(grant, call, message):
    with nothing_written(grant), pytest.raises(ValidationError) as refused:
        call(grant.optionee)
    assert message in refused.value.messages[0]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"shares": 10**30}, "a grant of 1,000,000,000,000,000,000,000,000,000,000 shares"),
        ({"shares": -5}, "A grant must be for at least one share."),
        ({"shares": "1.5"}, FRACTION),
        ({"grant_date": dt.date(9999, 12, 31)}, far_future("The grant date")),
        ({"grant_date": "2025-02-30"}, "The grant date must be a date"),
        ({"term_end": dt.date(9999, 12, 31)}, far_future("The end of the term")),
        ({"exercise_price": "-0.01"}, "The exercise price must be above zero (it is $-0.01)"),
        ({"exercise_price": "0"}, "The exercise price must be above zero (it is $0)"),
    ],
)
def test_grant_create_refuses_malformed_values(grant, changes, message):
    values = {
        "number": "BAD-1",
        "plan": grant.plan,
        "optionee": grant.optionee,
        "grant_date": d("2007-05-01"),
        "shares": 1_000,
        "exercise_price": "2.99",
        "term_end": d("2017-05-01"),
        "installments": [(d("2007-05-01"), 1_000)],
    }
    values.update(changes)
    if "shares" in changes and isinstance(changes["shares"], int) and changes["shares"] > 0:
        values["installments"] = [(d("2007-05-01"), changes["shares"])]
    with nothing_written(grant), pytest.raises(ValidationError) as refused:
        Grant.create(**values)
    assert message in refused.value.messages[0]


# --------------------------------------------------------------------------- portal: exercise


@pytest.mark.parametrize("action", ["preview", "submit"])
@pytest.mark.parametrize(("shares", "message"), BAD_SHARES)
def test_the_portal_exercise_form_refuses_malformed_shares(portal, grant, action, shares, message):
    form = {
        "shares": shares,
        "payment_method": "cash",
        "submission_key": uuid.uuid4().hex,
        "action": action,
    }
    with nothing_written(grant):
        response = portal.post(reverse("exercise", args=[grant.number]), form)
    assert message in text(response)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"payment_method": "bitcoin"}, "Select a valid choice. bitcoin is not one of"),
        ({"payment_method": ""}, REQUIRED),
        ({"submission_key": ""}, ALTERED),
        ({"submission_key": "k" * 65}, ALTERED),
    ],
)
def test_the_portal_exercise_form_refuses_other_malformed_fields(portal, grant, changes, message):
    form = {"shares": "1000", "payment_method": "cash", "submission_key": "k", "action": "submit"}
    with nothing_written(grant):
        response = portal.post(reverse("exercise", args=[grant.number]), {**form, **changes})
    assert message in text(response)


def test_html_typed_as_shares_is_shown_escaped(portal, grant):
    with nothing_written(grant):
        response = portal.post(
            reverse("exercise", args=[grant.number]),
            {"shares": "<b>9</b>", "payment_method": "cash", "submission_key": "k"},
        )
    assert "“<b>9</b>” is not a number of shares" in text(response)
    assert "<b>9</b>" not in raw(response)


# --------------------------------------------------------------------------- portal: address


@pytest.mark.parametrize(
    ("address", "message"),
    [
        ("", REQUIRED),
        ("   \n  ", REQUIRED),
        ("One line only", "Give the full postal address on separate lines"),
        ("James Akridge\n" + "x" * 1000, "Ensure this value has at most 1000 characters"),
        ("James Akridge\nAustin\x00", "Null characters are not allowed."),
    ],
)
def test_the_portal_change_of_address_refuses_malformed_addresses(portal, grant, address, message):
    with nothing_written(grant):
        response = portal.post(reverse("change_address"), {"address": address})
    assert message in text(response)


@pytest.mark.parametrize("first_line", [SCRIPT, BOBBY])
def test_html_and_sql_in_an_address_are_stored_as_typed_and_shown_escaped(
    portal, grant, first_line
):
    address = f"{first_line}\n12303 Technology Blvd\nAustin, Texas 78727"
    response = portal.post(reverse("change_address"), {"address": address}, follow=True)
    assert response.status_code == 200
    assert NoticeAddress.objects.get(notice__isnull=False).address == address
    page = portal.get(reverse("change_address"))
    assert first_line in text(page)
    assert SCRIPT not in raw(page)
    assert Grant.objects.filter(pk=grant.pk).exists()  # the table is still there


# --------------------------------------------------------------------------- admin: exercise


def exercise_notice(grant, changes=()) -> dict:
    return {
        "grant": grant.pk,
        "received_on": "2007-05-01",
        "received_time": "",
        "shares": "1000",
        "payment_method": "cash",
        "notice_method": "personal",
        "delivered_by": "",
        "submission_key": uuid.uuid4().hex,
        "record": "1",
        **dict(changes),
    }


@pytest.mark.parametrize(("shares", "message"), BAD_SHARES)
def test_the_admin_exercise_form_refuses_malformed_shares(staff, grant, shares, message):
    with nothing_written(grant):
        response = staff.post(
            reverse("admin:grants_exercise_add"), exercise_notice(grant, {"shares": shares})
        )
    assert message in text(response)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"received_on": "2025-02-30"}, NOT_A_DATE),
        ({"received_on": "yesterday"}, NOT_A_DATE),
        ({"received_on": ""}, REQUIRED),
        ({"received_on": "9999-12-31"}, far_future("The date the notice was received")),
        (
            {"received_on": "9999-12-31", "received_time": "18:00"},
            far_future("The date the notice was received"),
        ),
        ({"received_on": "2016-01-04"}, "after today (2007-05-01)"),
        ({"received_time": "25:00"}, "Enter a valid time."),
        ({"grant": "999999"}, "Select a valid choice."),
        ({"grant": BOBBY}, "Select a valid choice."),
        ({"payment_method": "bitcoin"}, "Select a valid choice."),
        ({"notice_method": "pigeon"}, "Select a valid choice."),
        ({"delivered_by": "abc"}, "Select a valid choice."),
        ({"submission_key": "k" * 65}, ALTERED),
        ({"submission_key": ""}, ALTERED),
    ],
)
def test_the_admin_exercise_form_refuses_malformed_fields(staff, grant, changes, message):
    for button in ("preview", "record"):
        data = exercise_notice(grant, changes)
        data.pop("record")
        with nothing_written(grant):
            response = staff.post(reverse("admin:grants_exercise_add"), {**data, button: "1"})
        assert message in text(response)


# --------------------------------------------------------------------------- admin: grant


def grant_form(grant, optionee, changes=()) -> dict:
    return {
        "number": "VLNC-2007-0002",
        "optionee": optionee.pk,
        "plan": grant.plan.pk,
        "terms": grant.terms.pk,
        "option_type": "NSO",
        "grant_date": "2007-05-01",
        "shares": "48000",
        "exercise_price": "4.10",
        "term_end": "2017-05-01",
        "schedule_kind": "shape",
        "immediate_shares": "0",
        "cliff_months": "12",
        "vesting_months": "48",
        "every_months": "3",
        "custom_installments": "",
        "_save": "Save grant",
        **dict(changes),
    }


CALENDAR_END = "ends past the end of the calendar; check the dates and the months."


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"shares": "-5"}, "A grant must be for at least one share."),
        ({"shares": "1.5"}, FRACTION),
        ({"shares": HUGE}, TOO_LONG),
        (
            {"shares": TWENTY_NINES},
            "The plan has 19,000,000 shares left in its reserve; a grant of "
            "99,999,999,999,999,999,999 shares would exceed it.",
        ),
        ({"shares": "abc"}, NOT_A_NUMBER),
        ({"shares": ""}, REQUIRED),
        ({"immediate_shares": "-5"}, "The immediate tranche must be between 0 and 48,000"),
        ({"immediate_shares": "1.5"}, FRACTION),
        ({"exercise_price": "-1"}, "The exercise price must be above zero."),
        ({"exercise_price": "0"}, "The exercise price must be above zero."),
        ({"exercise_price": "1e30"}, "Ensure that there are no more than 14 digits in total."),
        ({"exercise_price": "NaN"}, "Enter a number."),
        ({"exercise_price": "$4.10"}, "Enter a number."),
        ({"grant_date": "2025-02-30"}, NOT_A_DATE),
        ({"grant_date": "9999-12-31"}, f"from 9999-12-31 {CALENDAR_END}"),
        ({"term_end": "9999-12-31"}, far_future("The end of the term")),
        ({"term_end": "2025-02-30"}, NOT_A_DATE),
        ({"cliff_months": "-1"}, "Ensure this value is greater than or equal to 0."),
        ({"cliff_months": "1.5"}, "Enter a whole number."),
        ({"vesting_months": "99999999999"}, "A vesting period of 99,999,999,999 months"),
        ({"every_months": "7"}, "Select a valid choice. 7 is not one of the available choices."),
        ({"number": ""}, REQUIRED),
        ({"number": "X" * 51}, "Ensure this value has at most 50 characters (it has 51)."),
        ({"optionee": "abc"}, "Select a valid choice."),
        (
            {"schedule_kind": "custom", "custom_installments": "2025-02-30, 48000"},
            "Line 1: “2025-02-30” is not a date; write it as YYYY-MM-DD.",
        ),
        (
            {"schedule_kind": "custom", "custom_installments": "2007-05-01, -48000"},
            "The installment of 2007-05-01 must be for at least one share.",
        ),
        (
            {"schedule_kind": "custom", "custom_installments": f"2007-05-01, {TWENTY_NINES}"},
            "The installments add up to 99,999,999,999,999,999,999 shares but the grant is for "
            "48,000",
        ),
        (
            {"schedule_kind": "custom", "custom_installments": "2007-05-01; 48000"},
            "Line 1: write the vesting date and the shares separated by a comma",
        ),
    ],
)
def test_the_admin_add_grant_form_refuses_malformed_values(staff, grant, changes, message):
    optionee = OptioneeFactory(company=grant.company, legal_name="Nora Newcomer")
    data = grant_form(grant, optionee, changes)
    with nothing_written(grant):
        response = staff.post(reverse("admin:grants_grant_add"), data)
    assert message in text(response)
    data.pop("_save")
    with nothing_written(grant):  # "Preview schedule" never writes, whatever it is given
        assert staff.post(reverse("admin:grants_grant_add"), {**data, "_preview": "1"})


def test_a_grant_number_with_html_and_sql_is_refused_and_shown_escaped(staff, grant):
    """Grant numbers keep to letters, digits, spaces and - _ . # (tests/test_hostile_files.py);
    the form gives back what was typed, escaped."""
    optionee = OptioneeFactory(company=grant.company, legal_name="Nora Newcomer")
    number = f"{SCRIPT}{BOBBY}"[:50]
    with nothing_written(grant):
        response = staff.post(
            reverse("admin:grants_grant_add"), grant_form(grant, optionee, {"number": number})
        )
    assert "It starts with “<”: use only letters A–Z, digits" in text(response)
    assert ESCAPED_SCRIPT in raw(response)
    assert SCRIPT not in raw(response)


# --------------------------------------------------------------------------- admin: termination


def termination_form(optionee, changes=()) -> dict:
    return {
        "optionee": optionee.pk,
        "on": "2007-04-30",
        "reason": "other",
        "note": "",
        **dict(changes),
    }


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"on": "2025-02-30"}, NOT_A_DATE),
        ({"on": ""}, REQUIRED),
        ({"on": "9999-12-31"}, far_future("The termination date")),
        ({"on": "0001-01-01"}, "The termination date 0001-01-01 is too far in the past"),
        ({"on": "2005-07-12"}, "is before grant VLNC-2005-0001 was made on 2005-07-13"),
        ({"reason": "fired"}, "Select a valid choice. fired is not one of"),
        ({"optionee": "abc"}, "Select a valid choice."),
        ({"optionee": BOBBY}, "Select a valid choice."),
        ({"note": "x" * 301}, "Ensure this value has at most 300 characters (it has 301)."),
    ],
)
def test_the_admin_termination_form_refuses_malformed_values(staff, grant, changes, message):
    for button in ("preview", "confirm"):
        data = {**termination_form(grant.optionee, changes), button: "1"}
        if button == "confirm":
            data["previewed"] = f"{grant.optionee.pk}|{data['on']}|{data['reason']}"
        with nothing_written(grant):
            response = staff.post(reverse("admin:grants_termination_add"), data)
        assert message in text(response)


def test_html_and_sql_in_a_termination_note_are_stored_verbatim_and_shown_escaped(staff, grant):
    note = f"{SCRIPT} {BOBBY}"
    form = termination_form(grant.optionee, {"note": note})
    url = reverse("admin:grants_termination_add")
    shown = staff.post(url, {**form, "preview": "1"})
    assert SCRIPT not in raw(shown)
    staff.post(url, {**form, "confirm": "1", "previewed": shown.context["previewed"]})
    termination = Termination.objects.get()
    assert termination.note == note
    page = staff.get(reverse("admin:grants_termination_change", args=[termination.pk]))
    assert ESCAPED_SCRIPT in raw(page)
    assert SCRIPT not in raw(page)
    assert Grant.objects.filter(pk=grant.pk).exists()


# --------------------------------------------------------------------------- admin: notices


def notice_form(optionee, grant, changes=()) -> dict:
    return {
        "optionee": optionee.pk,
        "grant": grant.pk,
        "direction": Notice.Direction.TO_OPTIONEE,
        "method": Notice.Method.MAIL,
        "kind": Notice.Kind.GENERAL,
        "subject": "Your option",
        "body": "About your option.",
        "address": "James R. Akridge\nAustin, Texas",
        "sent_on": "2007-05-01",
        "received_on": "",
        "_save": "Save",
        **dict(changes),
    }


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"sent_on": "2025-02-30"}, NOT_A_DATE),
        ({"sent_on": "9999-12-31"}, far_future("Sent on")),
        ({"received_on": "2025-02-30"}, NOT_A_DATE),
        ({"received_on": "9999-12-31"}, "A notice cannot be received after today."),
        ({"subject": ""}, REQUIRED),
        ({"subject": "x" * 301}, "Ensure this value has at most 300 characters (it has 301)."),
        ({"subject": "Null\x00byte"}, "Null characters are not allowed."),
        ({"direction": "sideways"}, "Select a valid choice."),
        ({"grant": "999999"}, "Select a valid choice."),
        ({"grant": "abc"}, "Select a valid choice."),
        ({"optionee": BOBBY}, "Select a valid choice."),
    ],
)
def test_the_admin_notice_form_refuses_malformed_values(staff, grant, changes, message):
    with nothing_written(grant):
        response = staff.post(
            reverse("admin:grants_notice_add"), notice_form(grant.optionee, grant, changes)
        )
    assert message in text(response)


def test_html_in_a_notice_subject_is_escaped_in_the_admin_and_on_the_portal(staff, grant, akridge):
    form = notice_form(grant.optionee, grant, {"subject": SCRIPT, "body": f"{SCRIPT}\n{BOBBY}"})
    response = staff.post(reverse("admin:grants_notice_add"), form)
    assert response.status_code == 302
    notice = Notice.objects.get(subject=SCRIPT)
    assert notice.body == f"{SCRIPT}\n{BOBBY}"
    admin_pages = [
        reverse("admin:grants_notice_changelist"),
        reverse("admin:grants_notice_change", args=[notice.pk]),
        reverse("admin:grants_notice_print", args=[notice.pk]),
        reverse("admin:grants_notice_history", args=[notice.pk]),
    ]
    for url in admin_pages:
        page = staff.get(url)
        assert page.status_code == 200, url
        assert ESCAPED_SCRIPT in raw(page), url
        assert SCRIPT not in raw(page), url
    staff.force_login(akridge)
    for url in (reverse("notice_list"), reverse("notice_detail", args=[notice.pk])):
        page = staff.get(url)
        assert page.status_code == 200, url
        assert ESCAPED_SCRIPT in raw(page), url
        assert SCRIPT not in raw(page), url


@pytest.mark.parametrize(
    ("url", "data", "message"),
    [
        (
            "admin:grants_notice_change_address",
            {"optionee": "abc", "address": "A\nB", "received_on": "2007-05-01", "method": "mail"},
            "Select a valid choice.",
        ),
        (
            "admin:grants_notice_change_address",
            {"optionee": "", "address": "A\nB", "received_on": "2025-02-30", "method": "mail"},
            NOT_A_DATE,
        ),
        (
            "admin:grants_registrationsuspension_add",
            {"start": "9999-12-31", "end": "", "note": ""},
            far_future("The first day of the suspension"),
        ),
        (
            "admin:grants_registrationsuspension_add",
            {"start": "2007-05-01", "end": "2025-02-30", "note": ""},
            NOT_A_DATE,
        ),
        (
            "admin:grants_registrationsuspension_add",
            {"start": "2007-05-01", "end": "2007-04-30", "note": ""},
            "The suspension cannot end before it starts.",
        ),
        (
            "admin:grants_section16window_add",
            {"optionee": "abc", "start": "2007-05-01", "end": "2007-05-31"},
            "Select a valid choice.",
        ),
        (
            "admin:grants_section16window_add",
            {"start": "2007-05-01", "end": "9999-12-31"},
            far_future("The last day of liability"),
        ),
    ],
)
def test_the_company_fact_forms_refuse_malformed_values(staff, grant, url, data, message):
    defaults = {"company": grant.company.pk, "optionee": grant.optionee.pk}
    with nothing_written(grant):
        response = staff.post(reverse(url), {**defaults, **data})
    assert message in text(response)


def test_a_name_like_an_sql_injection_is_stored_verbatim(staff, grant):
    """The optionee form of the back office, as the administrator fills it in."""
    add = reverse("admin:grants_optionee_add")
    page = staff.get(add)
    form = page.context["adminform"].form
    data = dict.fromkeys(form.fields, "")
    for inline in page.context["inline_admin_formsets"]:
        formset = inline.formset
        for name, value in formset.management_form.initial.items():
            data[f"{formset.prefix}-{name}"] = value
    data.update(
        company=grant.company.pk,
        legal_name=f"{BOBBY} {SCRIPT}",
        employee_id="E-1",
        relationship="employee",
        notice_address=f"{BOBBY}\n1 Main Street\nAustin, Texas",
        _save="Save",
    )
    response = staff.post(add, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    optionee = Optionee.objects.get(employee_id="E-1")
    assert optionee.legal_name == f"{BOBBY} {SCRIPT}"
    assert Grant.objects.count() == 1  # grants_grant is still there, and still has the seed
    listing = staff.get(reverse("admin:grants_optionee_changelist"), {"q": "DROP TABLE"})
    assert BOBBY in text(listing)
    assert ESCAPED_SCRIPT in raw(listing)
    assert SCRIPT not in raw(listing)


# --------------------------------------------------------------------------- price upload


LATIN_1 = "date,price\n2007-04-30,4.10\n2007-04-27,4.05 Café\n".encode("latin-1")
UTF_16 = "date,price\n2007-04-30,4.10\n".encode("utf-16")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (LATIN_1, "Line 3 is not UTF-8 text (byte 0xe9); save the file as “CSV UTF-8”"),
        (UTF_16, "Line 1 is not UTF-8 text (byte 0xff)"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "Line 1 is not UTF-8 text (byte 0x89)"),
        (b"", "The submitted file is empty."),
        (b"date,price\n", "The file has the header but no prices."),
        (b"date,price\n2007-04-30,-4.10\n", "“-4.10” is not a price"),
        (b"date,price\n2007-04-30,abc\n", "“abc” is not a price"),
        (b"date,price\n2007-04-30,1e3\n", "“1e3” is not a price"),
        (f"date,price\n2007-04-30,{HUGE}\n".encode(), f"“{HUGE}” is too large for a price"),
        (b"date,price\n2007-04-30,4.10001\n", "has more than 4 decimal places"),
        (b"date,price\n2025-02-30,4.10\n", "“2025-02-30” is not a date"),
        (b"date,price\n9999-12-31,4.10\n", "9999-12-31 is after today (2007-05-01)"),
        (b"date,price\n2007-04-30,4.10\x00\n", "Line 2: “4.10\x00” is not a price"),
        (f"date,price\n2007-04-30,{SCRIPT}\n".encode(), f"“{SCRIPT}” is not a price"),
        (f"date,price\n2007-04-30,{BOBBY}\n".encode(), f"“{BOBBY}” is not a price"),
        (b"date,price\n2007-04-30,4.10,4.20\n", "expected 2 values (date,price), found 3"),
        (
            b"date,price\n" + b"2007-04-30,4.10\n" * (PRICE_FILE_LIMIT // 16 + 1),
            "The file is 1.0 MB; the limit is 1 MB. Split it into smaller files.",
        ),
    ],
)
def test_the_price_upload_refuses_malformed_files(staff, grant, content, message):
    upload = SimpleUploadedFile("prices.csv", content, content_type="text/csv")
    with nothing_written(grant):
        response = staff.post(
            reverse("admin:grants_closingprice_upload"),
            {"company": grant.company.pk, "file": upload},
        )
    assert message in text(response)
    assert SCRIPT not in raw(response)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"date": "2025-02-30"}, NOT_A_DATE),
        ({"date": "9999-12-31"}, "9999-12-31 is after today (2007-05-01)"),
        ({"price": "-4.10"}, "The closing price must be more than zero."),
        ({"price": HUGE}, "Ensure that there are no more than 14 digits in total."),
        ({"price": "abc"}, "Enter a number."),
    ],
)
def test_a_closing_price_entered_by_hand_refuses_malformed_values(staff, grant, changes, message):
    data = {"company": grant.company.pk, "date": "2007-04-30", "price": "4.10", **changes}
    with nothing_written(grant):
        response = staff.post(reverse("admin:grants_closingprice_add"), data)
    assert message in text(response)


# --------------------------------------------------------------------------- commands


def write(tmp_path, content: bytes, name="feed.csv") -> str:
    path = tmp_path / name
    path.write_bytes(content)
    return str(path)


def refused(command: str, path: str, grant, *args) -> str:
    """Run an import that must refuse: non-zero exit, a message, the book as it was.
    Returns everything it said (its output, its errors and the exit message)."""
    out, err = StringIO(), StringIO()
    with nothing_written(grant), pytest.raises(CommandError) as failed:
        call_command(command, path, *args, stdout=out, stderr=err)
    return re.sub(r"\s+", " ", f"{out.getvalue()} {err.getvalue()} {failed.value}")


GRANT_HEADER = (
    "employee_id,legal_name,email,relationship,insider,grant_number,type,grant_date,shares,"
    "exercise_price,term_end,plan,terms,immediate_shares,cliff_months,vesting_months,"
    "every_months,schedule"
)


def grant_line(**changes) -> str:
    cells = {
        "employee_id": "V-3001",
        "legal_name": "Ann Lee",
        "email": "ann.lee@example.com",
        "relationship": "employee",
        "insider": "no",
        "grant_number": "G-0001",
        "type": "NSO",
        "grant_date": "2007-03-01",
        "shares": "48000",
        "exercise_price": "1.85",
        "term_end": "2017-03-01",
        "plan": "Compensatory Benefit Plan",
        "terms": "",
        "immediate_shares": "",
        "cliff_months": "12",
        "vesting_months": "48",
        "every_months": "12",
        "schedule": "",
        **changes,
    }
    return ",".join(f'"{c}"' if "," in c else c for c in cells.values())


def grants_file(**changes) -> bytes:
    return f"{GRANT_HEADER}\n{grant_line(**changes)}\n".encode()


TERMINATION_HEADER = "employee_id,email,date,reason,note"


@pytest.mark.parametrize(
    ("command", "content", "message"),
    [
        (
            "import_grants",
            f"{GRANT_HEADER}\n{grant_line(legal_name='Zoë Lee')}\n".encode("latin-1"),
            "Line 2 is not UTF-8 text (byte 0xeb)",
        ),
        (
            "import_grants",
            f"{GRANT_HEADER}\n{grant_line()}\n".encode("utf-16"),
            "Line 1 is not UTF-8 text (byte 0xff)",
        ),
        (
            "import_terminations",
            f"{TERMINATION_HEADER}\nV-0001,,2007-04-30,other,Zoë\n".encode("latin-1"),
            "Line 2 is not UTF-8 text (byte 0xeb)",
        ),
        (
            "import_terminations",
            f"{TERMINATION_HEADER}\nV-0001,,2007-04-30,other,\n".encode("utf-16"),
            "Line 1 is not UTF-8 text (byte 0xff)",
        ),
        ("import_prices", LATIN_1, "Line 3 is not UTF-8 text (byte 0xe9)"),
        ("import_prices", UTF_16, "Line 1 is not UTF-8 text (byte 0xff)"),
    ],
)
def test_every_import_refuses_a_file_in_another_encoding(
    grant, tmp_path, command, content, message
):
    output = refused(command, write(tmp_path, content), grant)
    assert f"{message}; save the file as “CSV UTF-8”" in output


@pytest.mark.parametrize(
    ("command", "header", "line", "limit"),
    [
        # The grants' limit is 100 MB (an onboarding of 100,000 grants); set to 2 MB here
        # so the test does not write 100 MB.
        ("import_grants", GRANT_HEADER, grant_line(), "2 MB"),
        ("import_terminations", TERMINATION_HEADER, "V-0001,,2007-04-30,other,", "5 MB"),
        ("import_prices", "date,price", "2007-04-30,4.10", "1 MB"),
    ],
)
def test_every_import_refuses_an_oversized_file(
    grant, tmp_path, monkeypatch, command, header, line, limit
):
    from grants import imports

    assert imports.MAX_BYTES == 100 * 1024 * 1024
    monkeypatch.setattr(imports, "MAX_BYTES", 2 * 1024 * 1024)
    megabytes = int(limit.split()[0])
    body = (line + "\n").encode()
    content = header.encode() + b"\n" + body * (megabytes * 1024 * 1024 // len(body) + 1)
    message = refused(command, write(tmp_path, content), grant)
    assert f"the limit is {limit}. Split it into smaller files." in message


def test_a_file_that_cannot_be_read_is_reported(grant, tmp_path):
    for command in ("import_grants", "import_terminations", "import_prices"):
        assert "Cannot read" in refused(command, str(tmp_path / "missing.csv"), grant)
        assert "Cannot read" in refused(command, str(tmp_path), grant)  # a directory


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"shares": "-5"}, "shares: -5 is negative"),
        ({"shares": "1.5"}, "shares: 1.5 is not a whole number"),
        ({"shares": "abc"}, "shares: “abc” is not a whole number written out in digits"),
        # A spreadsheet's rounding of 1,234,567 must not become 1,230,000 shares.
        ({"shares": "1.23E+06"}, "shares: “1.23E+06” is not a whole number written out"),
        ({"shares": "1e3"}, "shares: “1e3” is not a whole number written out"),
        ({"shares": "١٠٠٠"}, "shares: “١٠٠٠” is not a whole number written out"),
        ({"shares": HUGE}, "a grant of 1,000,000,000,000,000,000,000,000,000,000 shares"),
        ({"grant_date": "2025-02-30"}, "grant_date: “2025-02-30” is not a date"),
        ({"grant_date": "9999-12-31"}, "9999-12-31 is after 2007-05-01, the day of this import"),
        ({"term_end": "9999-12-31"}, far_future("The end of the term")),
        ({"exercise_price": "-1.85"}, "exercise_price: “-1.85” is not a price"),
        ({"exercise_price": HUGE}, "is too large for a price per share"),
        ({"cliff_months": "-1"}, "cliff_months: “-1” is not a whole number of months"),
        ({"vesting_months": "99999999999"}, "A vesting period of 99,999,999,999 months"),
        ({"immediate_shares": "1.5"}, "immediate_shares: 1.5 is not a whole number"),
        (
            {"cliff_months": "", "vesting_months": "", "every_months": "", "schedule": "x:1"},
            "schedule: “x” is not a date",
        ),
        ({"email": SCRIPT}, "email: Enter a valid email address."),
        ({"legal_name": "x" * 201}, "legal_name is longer than 200 characters."),
    ],
)
def test_import_grants_refuses_malformed_values(grant, tmp_path, changes, message):
    path = write(tmp_path, grants_file(**changes))
    assert message in refused("import_grants", path, grant)


def test_import_grants_stores_html_and_sql_in_a_name_verbatim(grant, tmp_path):
    path = write(tmp_path, grants_file(legal_name=f"{BOBBY} {SCRIPT}"))
    call_command("import_grants", path, stdout=StringIO(), stderr=StringIO())
    assert Optionee.objects.get(employee_id="V-3001").legal_name == f"{BOBBY} {SCRIPT}"
    assert Grant.objects.count() == 2


def test_import_grants_refuses_html_and_sql_in_an_identifier(grant, tmp_path):
    """Employee ids and grant numbers keep to letters, digits, spaces and - _ . #
    (tests/test_hostile_files.py)."""
    path = write(tmp_path, grants_file(employee_id=SCRIPT, grant_number=BOBBY))
    said = refused("import_grants", path, grant)
    assert "line 2: employee_id: It starts with “<”" in said
    assert "line 2: grant_number: It holds “'”" in said


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("V-0001,,2025-02-30,other,", "date: “2025-02-30” is not a date"),
        ("V-0001,,9999-12-31,other,", "9999-12-31 is after 2007-05-01, the day of this import"),
        ("V-0001,,2007-04-30,fired,", "reason: “FIRED” is not a termination reason; use one of"),
        (f"V-0001,{SCRIPT},2007-04-30,other,", "email: Enter a valid email address."),
        (f"{BOBBY},,2007-04-30,other,", "employee_id: It holds “'”: use only letters A–Z"),
        ("V-0099,,2007-04-30,other,", "there is no optionee with employee id V-0099"),
        (f"V-0001,,2007-04-30,other,{'x' * 301}", "note is longer than 300 characters."),
    ],
)
def test_import_terminations_refuses_malformed_values(grant, tmp_path, line, message):
    path = write(tmp_path, f"employee_id,email,date,reason,note\n{line}\n".encode())
    assert message in refused("import_terminations", path, grant)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--as-of", "2025-02-30"], "“2025-02-30” is not a date; give it as YYYY-MM-DD."),
        (["--company", BOBBY], f"There is no company named “{BOBBY}”"),
    ],
)
def test_the_commands_refuse_malformed_options(grant, tmp_path, args, message):
    path = write(tmp_path, b"date,price\n2007-04-30,4.10\n")
    with nothing_written(grant), pytest.raises(CommandError) as refused_:
        call_command("import_prices", path, *args, stdout=StringIO(), stderr=StringIO())
    assert message in str(refused_.value)
