"""Company facts in the back office: registration suspensions and Section 16(b) liability
windows recorded through their verbs (which move stored expiration dates), and closing
prices edited by hand or uploaded as a CSV file checked row by row, all or nothing."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from grants.models import ClosingPrice, RegistrationSuspension, Section16Window
from grants.prices import MAX_BYTES, PriceRow, import_closing_prices, parse_closing_prices
from grants.roles import STOCK_ADMINISTRATOR, assign_role
from tests.conftest import d
from tests.factories import CompanyFactory, OptioneeFactory, UserFactory, changes_nothing

SUSPENSION_ADD = reverse("admin:grants_registrationsuspension_add")
SUSPENSIONS = reverse("admin:grants_registrationsuspension_changelist")
WINDOW_ADD = reverse("admin:grants_section16window_add")
PRICES = reverse("admin:grants_closingprice_changelist")
UPLOAD = reverse("admin:grants_closingprice_upload")


@pytest.fixture
def staff(client, grant):
    user = UserFactory()
    assign_role(user, STOCK_ADMINISTRATOR)
    client.force_login(user)
    return client


@pytest.fixture
def terminated(grant, optionee):
    """The seed optionee left on 2008-01-31: the option expires 2008-04-30 (5b)."""
    optionee.terminate(d("2008-01-31"), "other")
    grant.refresh_from_db()
    assert grant.expires_on == d("2008-04-30")
    return grant


def stored_expiration(grant) -> dt.date:
    grant.refresh_from_db()
    return grant.expires_on


def page_errors(response) -> str:
    return " ".join(str(e) for e in response.context["form"].errors.get("__all__", []))


# --------------------------------------------------------------------------- suspensions


def test_recording_a_suspension_moves_the_stored_expiration(staff, company, terminated):
    response = staff.post(
        SUSPENSION_ADD,
        {"company": company.pk, "start": "2008-02-10", "end": "2008-02-19", "note": "S-8 lapsed"},
    )

    assert response.status_code == 302
    suspension = RegistrationSuspension.objects.get()
    assert (suspension.start, suspension.end, suspension.note) == (
        d("2008-02-10"),
        d("2008-02-19"),
        "S-8 lapsed",
    )
    # Ten suspended days toll the 90-day post-termination clock (5b(iii)).
    assert stored_expiration(terminated) == d("2008-05-10")
    assert suspension.history.count() == 1


def test_a_suspension_that_ends_before_it_starts_shows_the_verbs_message(
    staff, company, terminated
):
    with changes_nothing(terminated):
        response = staff.post(
            SUSPENSION_ADD, {"company": company.pk, "start": "2008-02-19", "end": "2008-02-10"}
        )
    assert response.status_code == 200
    assert "The suspension cannot end before it starts." in page_errors(response)


def test_an_open_suspension_is_ended_with_end_on(staff, company, terminated):
    staff.post(SUSPENSION_ADD, {"company": company.pk, "start": "2008-02-10", "end": ""})
    suspension = RegistrationSuspension.objects.get()
    # While it lasts (through today), the clock is paused: the term's end caps the date.
    assert stored_expiration(terminated) == d("2015-07-13")
    end_url = reverse("admin:grants_registrationsuspension_end", args=[suspension.pk])
    assert end_url in staff.get(SUSPENSIONS).content.decode()

    with changes_nothing(terminated):
        refused = staff.post(end_url, {"end": "2008-02-01"})
    assert "The suspension cannot end before it starts." in page_errors(refused)

    response = staff.post(end_url, {"end": "2008-02-19"})

    assert response.status_code == 302
    suspension.refresh_from_db()
    assert suspension.end == d("2008-02-19")
    assert stored_expiration(terminated) == d("2008-05-10")
    # An ended suspension cannot be ended again.
    again = staff.post(end_url, {"end": "2008-03-01"}, follow=True)
    assert "already ended on 2008-02-19" in again.content.decode()
    suspension.refresh_from_db()
    assert suspension.end == d("2008-02-19")


def test_a_suspension_is_never_edited_or_deleted_by_hand(staff, company, terminated):
    suspension = company.suspend_registration(d("2008-02-10"), d("2008-02-19"))
    change = reverse("admin:grants_registrationsuspension_change", args=[suspension.pk])
    page = staff.get(change)
    assert page.status_code == 200
    assert page.context["has_change_permission"] is False

    data = {"company": company.pk, "start": "2008-01-01", "end": "2008-12-31", "note": ""}
    with changes_nothing(terminated):
        assert staff.post(change, data).status_code == 403
        delete = reverse("admin:grants_registrationsuspension_delete", args=[suspension.pk])
        assert staff.post(delete, {"post": "yes"}).status_code == 403
        version = suspension.history.first().history_id
        revert = reverse(
            "admin:grants_registrationsuspension_simple_history", args=[suspension.pk, version]
        )
        assert staff.post(revert, data).status_code == 403
    assert stored_expiration(terminated) == d("2008-05-10")


# --------------------------------------------------------------------------- section 16(b)


def test_recording_a_liability_window_moves_the_stored_expiration(staff, optionee, terminated):
    response = staff.post(
        WINDOW_ADD, {"optionee": optionee.pk, "start": "2008-04-01", "end": "2008-05-15"}
    )

    assert response.status_code == 302
    window = Section16Window.objects.get()
    assert (window.optionee, window.start, window.end) == (
        optionee,
        d("2008-04-01"),
        d("2008-05-15"),
    )
    # The 10th day after the last day of liability (5b(iv)).
    assert stored_expiration(terminated) == d("2008-05-25")
    change = reverse("admin:grants_section16window_change", args=[window.pk])
    assert staff.get(change).context["has_change_permission"] is False
    assert staff.post(change, {"start": "2008-01-01", "end": "2008-12-31"}).status_code == 403


def test_a_liability_window_that_ends_before_it_starts_shows_the_verbs_message(
    staff, optionee, terminated
):
    with changes_nothing(terminated):
        response = staff.post(
            WINDOW_ADD, {"optionee": optionee.pk, "start": "2008-05-15", "end": "2008-04-01"}
        )
    assert "The liability window cannot end before it starts." in page_errors(response)


# --------------------------------------------------------------------------- closing prices


def test_closing_prices_filter_by_date(staff, company):
    for day, price in [("2008-03-03", "2.50"), ("2008-04-01", "2.75")]:
        ClosingPrice.objects.create(company=company, date=d(day), price=Decimal(price))
    response = staff.get(PRICES, {"date__gte": "2008-04-01", "date__lt": "2008-05-01"})
    assert [p.date for p in response.context["cl"].result_list] == [d("2008-04-01")]
    assert UPLOAD in response.content.decode()


def test_a_closing_price_entered_by_hand_must_be_positive(staff, company):
    response = staff.post(
        reverse("admin:grants_closingprice_add"),
        {"company": company.pk, "date": "2008-03-03", "price": "0"},
    )
    assert "The closing price must be more than zero." in response.content.decode()
    assert not ClosingPrice.objects.exists()


def test_the_price_list_makes_the_same_queries_for_10_or_60_prices(staff, company):
    def add(first: dt.date, count: int):
        ClosingPrice.objects.bulk_create(
            ClosingPrice(company=company, date=first + dt.timedelta(days=n), price=Decimal("3"))
            for n in range(count)
        )

    def queries():
        with CaptureQueriesContext(connection) as captured:
            assert staff.get(PRICES).status_code == 200
        return len(captured)

    add(d("2008-01-01"), 10)
    ten = queries()
    add(d("2009-01-01"), 50)
    assert queries() == ten


def upload(client, company, content: bytes, name="prices.csv"):
    return client.post(
        UPLOAD, {"company": company.pk, "file": SimpleUploadedFile(name, content, "text/csv")}
    )


def test_an_upload_adds_new_dates_and_updates_known_ones(staff, company):
    ClosingPrice.objects.create(company=company, date=d("2008-03-03"), price=Decimal("2.50"))
    ClosingPrice.objects.create(company=company, date=d("2008-03-04"), price=Decimal("2.60"))
    content = b"date,price\n2008-03-03,2.55\n2008-03-04,2.60\n2008-03-05,2.7125\n\n"

    response = upload(staff, company, content)

    assert response.status_code == 302
    prices = dict(ClosingPrice.objects.values_list("date", "price"))
    assert prices == {
        d("2008-03-03"): Decimal("2.55"),
        d("2008-03-04"): Decimal("2.60"),
        d("2008-03-05"): Decimal("2.7125"),
    }
    # The old price stays in the history.
    corrected = ClosingPrice.objects.get(date=d("2008-03-03"))
    assert [h.price for h in corrected.history.all()] == [Decimal("2.55"), Decimal("2.50")]
    assert ClosingPrice.objects.get(date=d("2008-03-05")).history.count() == 1
    (message,) = [str(m) for m in staff.get(PRICES).context["messages"]]
    assert message.endswith("1 added, 1 updated, 1 unchanged.")

    # The same file again changes nothing.
    upload(staff, company, content)
    (message,) = [str(m) for m in staff.get(PRICES).context["messages"]]
    assert message.endswith("0 added, 0 updated, 3 unchanged.")
    assert corrected.history.count() == 2


def test_an_upload_with_a_bad_row_imports_nothing_and_lists_every_bad_row(staff, company):
    content = (
        b"date,price\n"
        b"2008-03-03,2.50\n"  # line 2: good
        b"03/04/2008,2.60\n"  # line 3: date format
        b"2008-03-05,-1\n"  # line 4: negative
        b"2008-03-06,2.123456\n"  # line 5: too many places
        b"2008-03-03,2.55\n"  # line 6: duplicate of line 2
        b"2008-03-07,0\n"  # line 7: zero
        b"2008-03-08,$2.80\n"  # line 8: currency sign
        b"2008-03-09\n"  # line 9: one value
        b"2008-02-30,2.80\n"  # line 10: no such day
        b"2999-01-04,2.80\n"  # line 11: future
    )

    response = upload(staff, company, content)

    assert response.status_code == 200
    assert not ClosingPrice.objects.exists()
    errors = [str(e) for e in response.context["errors"]]
    assert [e.split(":")[0] for e in errors] == [f"Line {n}" for n in range(3, 12)]
    html = response.content.decode()
    assert "Nothing was imported" in html
    assert "Line 3: “03/04/2008” is not a date; write it as YYYY-MM-DD" in html
    assert "Line 6: 2008-03-03 is already on line 2; keep one price per date." in html


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "The submitted file is empty."),
        (b"\n \n", "The file is empty; its first line must be the header date,price."),
        (b"date,price\n", "The file has the header but no prices."),
        (b"2008-03-03,2.50\n", "Line 1 must be the header date,price"),
        (b"date,price\n2008-03-03,2.50\n2008-03-04,\xe92\n", "Line 3 is not UTF-8 text"),
    ],
)
def test_a_file_that_cannot_be_read_imports_nothing(staff, company, content, message):
    response = upload(staff, company, content)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not ClosingPrice.objects.exists()


def test_a_file_over_the_size_limit_is_refused_before_it_is_read(staff, company):
    content = b"date,price\n" + b"2008-03-03,2.50\n" * (MAX_BYTES // 16 + 1)
    response = upload(staff, company, content)
    assert "the limit is 1 MB" in response.content.decode()
    assert not ClosingPrice.objects.exists()


# --------------------------------------------------------------------------- grants.prices


def test_parse_accepts_a_byte_order_mark_spaces_blank_lines_and_crlf():
    parsed = parse_closing_prices(b"\xef\xbb\xbfDate , Price\r\n 2008-03-03 , 7.40 \r\n\r\n")
    assert parsed.ok
    assert parsed.rows == [PriceRow(2, d("2008-03-03"), Decimal("7.40"))]


def test_parse_reports_both_problems_of_one_row():
    parsed = parse_closing_prices(b"date,price\n2008-13-01,abc\n")
    assert not parsed.ok
    assert parsed.rows == []
    (error,) = parsed.errors
    assert error.line == 2
    assert "“2008-13-01” is not a date" in error.message
    assert "“abc” is not a price" in error.message


@pytest.mark.parametrize(
    ("price", "ok"),
    [
        ("7", True),
        ("7.4", True),
        ("0.0001", True),
        ("9999999999.9999", True),
        ("12345678901", False),  # more digits than the column holds
        ("1e3", False),
        ("1,000.00", False),
        ("٣", False),  # digits of another script
        ("0.00001", False),
        (" ", False),
    ],
)
def test_parse_prices(price, ok):
    parsed = parse_closing_prices(f'date,price\n2008-03-03,"{price}"\n'.encode())
    assert parsed.ok is ok


def test_parse_refuses_dates_after_today_only_when_told_today():
    content = b"date,price\n2008-03-04,7.40\n"
    assert parse_closing_prices(content).ok
    assert not parse_closing_prices(content, today=d("2008-03-03")).ok
    assert parse_closing_prices(content, today=d("2008-03-04")).ok


def test_imports_are_per_company(grant, company):
    other = CompanyFactory()
    ClosingPrice.objects.create(company=other, date=d("2008-03-03"), price=Decimal("9"))
    result = import_closing_prices(company, [PriceRow(2, d("2008-03-03"), Decimal("2.50"))])
    assert (result.added, result.updated, result.unchanged) == (1, 0, 0)
    assert other.closing_prices.get().price == Decimal("9")


@pytest.mark.parametrize("model", [RegistrationSuspension, Section16Window])
def test_the_fact_lists_make_the_same_queries_for_5_or_25_rows(staff, grant, company, model):
    def add(count: int):
        for n in range(count):
            start = d("1990-01-01") + dt.timedelta(days=10 * (model.objects.count() + n))
            if model is RegistrationSuspension:
                company.suspend_registration(start, start + dt.timedelta(days=2))
            else:
                OptioneeFactory(company=company).record_section16_liability(start, start)

    def queries():
        url = reverse(f"admin:grants_{model._meta.model_name}_changelist")
        with CaptureQueriesContext(connection) as captured:
            assert staff.get(url).status_code == 200
        return len(captured)

    add(5)
    five = queries()
    add(20)
    assert model.objects.count() == 25
    assert queries() == five
