"""The agreement read exactly: the readings an independent audit found wrong, each tried
through the domain API as a plan administrator would (issue 13, DOMAIN.md).

1. Exception 3(a) names no order, and the ledger records the installment it draws on.
2. No exercise without the price: a notice without it is a pending request.
3. A fact recorded late brings an expired grant back.
4. A suspension that has not started changes nothing.
5. A mailed warning is deposited early enough to take effect by the day it announces.
6. check_books lists every exercise after the last day until it is reviewed.
7. Holidays as observed, from a maintained calendar.
"""

import datetime as dt
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command

from grants.books import check_books
from grants.models import Exercise, Grant, Holiday, Notice, Termination
from grants.seed import seed_grant
from tests.conftest import d
from tests.factories import GrantFactory, OptioneeFactory, PlanFactory, changes_nothing

CHICAGO = ZoneInfo("America/Chicago")


def at(day: str, hour: int = 10):
    """Travel to ``day`` at ``hour`` o'clock in Austin."""
    return time_machine.travel(
        dt.datetime.combine(d(day), dt.time(hour), tzinfo=CHICAGO), tick=False
    )


def local(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=CHICAGO)


def nightly(day: str) -> str:
    out = StringIO()
    with at(day, 1):
        call_command("expire_options", stdout=out, stderr=StringIO())
    return out.getvalue()


def problems(on: str) -> list[str]:
    return [str(p) for p in check_books(d(on)) if not isinstance(p, int)]


@pytest.fixture
def book(db):
    with at("2008-01-02"):
        return seed_grant()


# ===================================================== 1. exception 3(a) names no order


@pytest.fixture
def small_middle(db):
    """Installments 2,500 / 500 / 7,000, all vested by 2010-05-01 (DOMAIN.md's example)."""
    with at("2010-01-04"):
        return GrantFactory(
            grant_date=d("2010-01-04"),
            shares=10_000,
            installments=[
                (d("2010-01-15"), 2_500),
                (d("2010-02-15"), 500),
                (d("2010-03-15"), 7_000),
            ],
        )


def test_the_whole_of_any_small_installment_may_be_exercised(small_middle):
    with at("2010-05-03"):
        exercise = small_middle.request_exercise(
            500, d("2010-05-03"), payment_method="cash", payment_received=True
        )
    assert exercise.installment.vest_date == d("2010-02-15")
    rows = small_middle.schedule(d("2010-05-03"))
    assert [row.exercised for row in rows] == [0, 500, 0]


def test_a_piece_of_a_larger_installment_is_still_below_the_minimum(small_middle):
    with at("2010-05-03"), changes_nothing(small_middle), pytest.raises(ValidationError) as exc:
        small_middle.request_exercise(400, d("2010-05-03"), payment_method="cash")
    assert exc.value.code == "below_minimum"


def test_the_exception_is_used_once_per_installment(small_middle):
    with at("2010-05-03"):
        small_middle.request_exercise(500, d("2010-05-03"), payment_method="cash")
        with changes_nothing(small_middle), pytest.raises(ValidationError) as exc:
            small_middle.request_exercise(500, d("2010-05-03"), payment_method="cash")
    assert exc.value.code == "below_minimum"


def test_a_cancelled_exercise_gives_the_installment_back(small_middle):
    with at("2010-05-03"):
        first = small_middle.request_exercise(500, d("2010-05-03"), payment_method="cash")
        first.cancel(d("2010-05-03"))
        again = small_middle.request_exercise(500, d("2010-05-03"), payment_method="cash")
    assert again.installment.vest_date == d("2010-02-15")


def test_exercises_of_the_minimum_are_charged_oldest_first_around_the_small_one(small_middle):
    with at("2010-05-03"):
        small_middle.request_exercise(500, d("2010-05-03"), payment_method="cash")
        small_middle.request_exercise(3_000, d("2010-05-03"), payment_method="cash")
    rows = small_middle.schedule(d("2010-05-03"))
    assert [row.exercised for row in rows] == [2_500, 500, 500]


# ===================================================== 2. no exercise without the price


def test_a_notice_without_the_price_is_a_pending_request_that_reserves_the_shares(book):
    with at("2008-03-03"):
        request = book.request_exercise(100_000, d("2008-03-03"), payment_method="check")
        book.refresh_from_db()
        assert request.status == Exercise.Status.REQUESTED
        assert book.pending_shares() == 100_000
        position = book.position(d("2008-03-03"))
    assert position.exercisable == 662_500 - 100_000  # reserved, not exercisable
    assert position.pending == 100_000
    assert book.status == Grant.Status.GRANTED


def test_the_exercise_is_made_when_the_price_arrives_and_dated_then(book):
    with at("2008-03-03"):
        request = book.request_exercise(1_000, d("2008-03-03"), payment_method="cash")
    with at("2008-03-12"):
        request.mark_paid(d("2008-03-12"))
    assert request.status == Exercise.Status.PAID
    assert request.exercise_date == d("2008-03-12")  # the later of notice and price
    assert request.payment_received_on == d("2008-03-12")


def test_a_price_received_after_the_last_days_business_hours_is_refused(book):
    optionee = book.optionee
    with at("2008-02-01"):
        optionee.terminate(d("2008-01-31"))  # last day 2008-04-30
    with at("2008-04-01"):
        request = book.request_exercise(1_000, d("2008-04-01"), payment_method="check")
    book.refresh_from_db()
    with at("2008-05-02"), changes_nothing(book), pytest.raises(ValidationError) as exc:
        request.mark_paid(d("2008-05-02"))
    assert exc.value.code == "paid_after_expiry"
    assert "2008-04-30" in exc.value.messages[0]
    with at("2008-04-30", 18), changes_nothing(book), pytest.raises(ValidationError) as exc:
        request.mark_paid(local("2008-04-30 17:30"))
    assert exc.value.code == "paid_after_expiry"
    with at("2008-04-30", 16):
        request.mark_paid(local("2008-04-30 16:59"))
    assert request.status == Exercise.Status.PAID
    assert request.exercise_date == d("2008-04-30")


def test_at_expiry_a_pending_request_lapses_and_its_shares_go_back(book):
    optionee = book.optionee
    with at("2008-02-01"):
        optionee.terminate(d("2008-01-31"))  # vested 662,500; last day 2008-04-30
    with at("2008-04-01"):
        request = book.request_exercise(100_000, d("2008-04-01"), payment_method="cash")
    out = nightly("2008-05-01")
    assert "expired: 1" in out
    assert "held" not in out
    book.refresh_from_db()
    request.refresh_from_db()
    assert book.status == Grant.Status.EXPIRED
    assert request.status == Exercise.Status.LAPSED
    assert book.returned_shares == 1_000_000  # nothing was exercised
    notice = book.notices.get(kind=Notice.Kind.EXPIRED)
    assert "100,000 shares lapsed" in notice.body
    with at("2008-05-02"), pytest.raises(ValidationError) as exc:
        request.mark_paid(d("2008-05-02"))
    assert exc.value.code == "not_awaiting_payment"
    assert problems("2008-05-02") == []


def test_a_regulation_t_exercise_is_made_by_the_notice_and_stands_past_the_last_day(book):
    optionee = book.optionee
    with at("2008-02-01"):
        optionee.terminate(d("2008-01-31"))
    with at("2008-04-30"):
        exercise = book.request_exercise(100_000, d("2008-04-30"), payment_method="regt")
    assert exercise.status == Exercise.Status.AWAITING_PAYMENT
    assert exercise.exercise_date == d("2008-04-30")
    with pytest.raises(ValidationError) as exc:
        exercise.issue_shares(d("2008-05-01"))
    assert exc.value.code == "not_paid"
    nightly("2008-05-01")
    with at("2008-05-02"):
        exercise.mark_paid(d("2008-05-02"))
    with at("2008-05-03"):
        exercise.issue_shares(d("2008-05-03"))
    assert exercise.status == Exercise.Status.ISSUED
    assert exercise.exercise_date == d("2008-04-30")
    book.refresh_from_db()
    assert book.returned_shares == 1_000_000 - 100_000
    assert problems("2008-05-04") == []


# ===================================================== 3. late facts bring a grant back


@pytest.fixture
def expired_after_termination(book):
    """Terminated 2008-01-31 (last day 2008-04-30), expired by the nightly job."""
    with at("2008-02-01"):
        book.optionee.terminate(d("2008-01-31"))
    nightly("2008-05-01")
    book.refresh_from_db()
    assert book.status == Grant.Status.EXPIRED
    return book


def assert_live_again(grant, last_day: str, today: str):
    grant.refresh_from_db()
    assert grant.status == Grant.Status.GRANTED
    assert grant.expires_on == d(last_day)
    assert grant.returned_shares == 337_500  # the forfeited only (vested 662,500)
    assert grant.next_action_on is not None
    assert grant.next_action_on <= d(last_day) + dt.timedelta(days=1)
    assert grant.history.first().status == Grant.Status.GRANTED
    notice = grant.notices.get(kind=Notice.Kind.REINSTATED)
    assert notice.direction == Notice.Direction.TO_OPTIONEE
    assert d(last_day).strftime("%B %-d, %Y") in notice.body
    assert problems(today) == []


def test_a_suspension_recorded_late_brings_the_grant_back(expired_after_termination):
    grant = expired_after_termination
    with at("2008-05-02"):
        grant.company.suspend_registration(d("2008-02-10"), d("2008-02-19"))
    assert_live_again(grant, "2008-05-10", "2008-05-02")
    with at("2008-05-05"):
        grant.request_exercise(1_000, d("2008-05-05"), payment_method="regt")


def test_a_section_16_window_recorded_late_brings_the_grant_back(expired_after_termination):
    grant = expired_after_termination
    with at("2008-05-02"):
        grant.optionee.record_section16_liability(d("2008-04-20"), d("2008-05-01"))
    assert_live_again(grant, "2008-05-11", "2008-05-02")


def test_a_reversed_termination_brings_the_grant_back(expired_after_termination):
    grant = expired_after_termination
    with at("2008-05-02"):
        Termination.objects.get().reverse("Entered for the wrong person.")
    grant.refresh_from_db()
    assert grant.status == Grant.Status.GRANTED
    assert grant.expires_on == d("2015-07-13")
    assert grant.returned_shares == 0
    assert grant.notices.filter(kind=Notice.Kind.REINSTATED).count() == 1
    assert problems("2008-05-02") == []


def test_a_corrected_termination_date_brings_the_grant_back(expired_after_termination):
    grant = expired_after_termination
    with at("2008-05-02"):
        Termination.objects.get().reverse("The last day worked was 2008-03-31.")
        grant.optionee.terminate(d("2008-03-31"))
    grant.refresh_from_db()
    assert grant.status == Grant.Status.GRANTED
    assert grant.expires_on == d("2008-06-30")
    assert problems("2008-05-02") == []


def test_a_late_fact_whose_new_last_day_has_passed_leaves_the_grant_expired(
    expired_after_termination,
):
    grant = expired_after_termination
    with at("2008-05-20"):
        grant.company.suspend_registration(d("2008-02-10"), d("2008-02-19"))
    grant.refresh_from_db()
    assert grant.status == Grant.Status.EXPIRED
    assert grant.expires_on == d("2008-05-10")
    assert not grant.notices.filter(kind=Notice.Kind.REINSTATED).exists()
    assert problems("2008-05-20") == []


# ===================================================== 4. a suspension not yet started


def test_a_suspension_that_has_not_started_changes_nothing(book):
    with at("2008-03-15"):
        book.optionee.terminate(d("2008-01-31"))
        book.company.suspend_registration(d("2008-04-01"))
        book.refresh_from_db()
        assert book.expiration_date() == d("2008-04-30")
        assert book.expires_on == d("2008-04-30")
        # The nightly job looks again on the suspension's first day.
        assert book.next_action_on <= d("2008-04-01")
    with at("2008-04-02"):
        assert book.expiration_date() == d("2008-05-02")  # suspended 04-01 and 04-02


# ===================================================== 5. mailed warnings arrive in time


def test_a_mailed_warning_takes_effect_by_the_day_it_announces(db):
    with at("2008-01-02"):
        grant = seed_grant()
        optionee = grant.optionee
        optionee.email = ""
        optionee.save()
        optionee.terminate(d("2008-01-31"))  # last day 2008-04-30
    day = d("2008-02-25")
    while day <= d("2008-05-01"):
        nightly(day.isoformat())
        day += dt.timedelta(days=1)
    warnings = list(grant.notices.filter(kind=Notice.Kind.EXPIRY_WARNING).order_by("mail_by"))
    assert [w.days_before for w in warnings] == [60, 30, 14, 7, 1]
    for warning in warnings:
        assert warning.method == Notice.Method.MAIL
        with at(warning.mail_by.isoformat()):
            warning.mark_mailed(warning.mail_by)  # mailed the day it was to be mailed
        assert warning.effective_on <= d("2008-04-30") - dt.timedelta(days=warning.days_before)
    one_day = warnings[-1]
    assert one_day.sent_on == d("2008-04-24")
    assert one_day.effective_on == d("2008-04-29")


# ===================================================== 6. check_books and late exercises


@pytest.mark.unbalanced_books
def test_check_books_lists_an_exercise_after_a_last_day_moved_earlier(book):
    with at("2008-04-15"):
        exercise = book.request_exercise(
            1_000, d("2008-04-15"), payment_method="cash", payment_received=True
        )
        book.optionee.terminate(d("2008-01-10"))  # reported late: last day 2008-04-10
    found = problems("2008-04-16")
    assert any(
        f"exercise {exercise.pk} of grant VLNC-2005-0001" in p and "2008-04-10" in p for p in found
    )
    with at("2008-04-16"), pytest.raises(CommandError):
        call_command("check_books", stdout=StringIO(), stderr=StringIO())
    with at("2008-04-16"):
        exercise.confirm_after_review("The board honours it: notice was given in time.")
    assert problems("2008-04-16") == []
    exercise.refresh_from_db()
    assert exercise.reviewed_on == d("2008-04-16")


@pytest.mark.unbalanced_books
def test_cancelling_the_late_exercise_also_resolves_it(book):
    with at("2008-04-15"):
        exercise = book.request_exercise(
            1_000, d("2008-04-15"), payment_method="cash", payment_received=True
        )
        book.optionee.terminate(d("2008-01-10"))
    assert problems("2008-04-16")
    with at("2008-04-16"):
        exercise.cancel(d("2008-04-16"))
    assert problems("2008-04-16") == []


def test_a_review_needs_a_reason(book):
    with at("2008-04-15"):
        exercise = book.request_exercise(
            1_000, d("2008-04-15"), payment_method="cash", payment_received=True
        )
        with pytest.raises(ValidationError) as exc:
            exercise.confirm_after_review("  ")
    assert exc.value.code == "no_reason"


# ===================================================== 7. holidays as observed


def test_the_demo_company_keeps_independence_day_2008(book):
    assert book.company.deemed_receipt(local("2008-07-04 10:00")) == d("2008-07-07")
    assert book.company.deemed_receipt(d("2008-07-04")) == d("2008-07-07")


def test_a_holiday_on_a_saturday_is_observed_on_the_friday(book):
    assert book.company.deemed_receipt(local("2026-07-03 12:00")) == d("2026-07-06")


def test_the_administrator_removes_and_adds_a_day(book):
    company = book.company
    Holiday.objects.create(company=company, date=d("2026-07-03"), name="Open", closed=False)
    Holiday.objects.create(company=company, date=d("2026-07-02"), name="Company day")
    assert company.deemed_receipt(local("2026-07-03 12:00")) == d("2026-07-03")
    assert company.deemed_receipt(local("2026-07-02 12:00")) == d("2026-07-03")


def test_a_company_without_a_holiday_calendar_has_only_its_own_days(db):
    company = PlanFactory(company__holiday_calendar="").company
    assert company.deemed_receipt(local("2026-07-03 12:00")) == d("2026-07-03")


def test_holidays_are_listed_by_year_as_observed(book):
    listed = book.company.holiday_list().in_year(2026)
    assert (d("2026-07-03"), "Independence Day (observed)", "calendar") in listed
    assert all(source == "calendar" for _, _, source in listed)


def test_demo_optionee_factory_companies_get_the_calendar_too(db):
    optionee = OptioneeFactory()
    assert optionee.company.holiday_calendar == "US"


# ===================================================== what people see and submit


def page(response) -> str:
    import re

    return re.sub(r"\s+", " ", response.content.decode())


@pytest.fixture
def staff(client, book):
    from grants.roles import STOCK_ADMINISTRATOR, assign_role
    from tests.factories import UserFactory

    user = UserFactory()
    assign_role(user, STOCK_ADMINISTRATOR)
    client.force_login(user)
    return client


def test_the_portal_says_when_the_exercise_is_made_before_submitting(client, book):
    from tests.factories import UserFactory

    optionee = book.optionee
    optionee.user = UserFactory(username="jakridge")
    optionee.save()
    client.force_login(optionee.user)
    url = f"/grants/{book.number}/exercise/"
    with at("2008-03-03"):
        form = page(client.get(url))
        reserves = "your notice reserves the shares, but the exercise is made only when"
        assert f"{reserves} the company has received the full price" in form
        assert "Tuesday, July 14, 2015" not in form
        assert "Monday, July 13, 2015, the option's last day" in form
        confirm = client.post(
            url,
            {
                "shares": "1000",
                "payment_method": "check",
                "submission_key": "k1",
                "action": "preview",
            },
        )
    text = page(confirm)
    assert "this notice reserves the 1,000 shares" in text
    assert "lapses with the option" in text
    assert Exercise.objects.count() == 0


def test_the_back_office_preview_says_what_a_notice_makes(staff, book):
    data = {
        "grant": book.pk,
        "received_on": "2008-03-03",
        "received_time": "",
        "shares": "1000",
        "payment_method": "regt",
        "notice_method": "personal",
        "delivered_by": "",
        "submission_key": "k2",
        "preview": "Preview",
    }
    with at("2008-03-03"):
        text = page(staff.post("/admin/grants/exercise/add/", data))
        assert "this notice makes the exercise, dated March 3, 2008" in text
        text = page(staff.post("/admin/grants/exercise/add/", {**data, "payment_method": "cash"}))
        assert "this notice reserves the 1,000 shares" in text
        text = page(
            staff.post(
                "/admin/grants/exercise/add/",
                {**data, "payment_method": "cash", "payment_received": "on"},
            )
        )
        assert "the exercise is made, dated March 3, 2008" in text
    assert Exercise.objects.count() == 0


@pytest.mark.unbalanced_books
def test_the_exercise_page_offers_the_review_and_records_it(staff, book):
    with at("2008-04-15"):
        exercise = book.request_exercise(
            1_000, d("2008-04-15"), payment_method="cash", payment_received=True
        )
        book.optionee.terminate(d("2008-01-10"))
    url = f"/admin/grants/exercise/{exercise.pk}/change/"
    with at("2008-04-16"):
        assert "Dated after the option's last day" in page(staff.get(url))
        staff.post(f"/admin/grants/exercise/{exercise.pk}/review/", {"note": "Board decision."})
        exercise.refresh_from_db()
        assert exercise.review_note == "Board decision."
        assert "Dated after the option's last day" not in page(staff.get(url))
    assert problems("2008-04-16") == []


def test_a_general_notice_sent_twice_is_recorded_once(staff, book):
    data = {
        "optionee": book.optionee.pk,
        "grant": "",
        "direction": Notice.Direction.TO_OPTIONEE,
        "method": Notice.Method.MAIL,
        "kind": Notice.Kind.GENERAL,
        "subject": "Plan meeting",
        "body": "The plan meeting is on March 20.",
        "address": "",
        "sent_on": "2008-03-03",
        "received_on": "",
        "form_key": "same-form",
        "_save": "Save",
    }
    with at("2008-03-03"):
        first = staff.post("/admin/grants/notice/add/", data)
        second = staff.post("/admin/grants/notice/add/", data)
    assert first.status_code == second.status_code == 302
    assert Notice.objects.filter(subject="Plan meeting").count() == 1
    with at("2008-03-03"):
        staff.post("/admin/grants/notice/add/", {**data, "form_key": "another-form"})
    assert Notice.objects.filter(subject="Plan meeting").count() == 2


def test_the_company_page_lists_the_holidays_as_observed(staff, book):
    with at("2026-03-02"):
        text = page(staff.get(f"/admin/grants/company/{book.company.pk}/change/"))
    assert "Fri 2026-07-03 Independence Day (observed)" in text
    assert "Sat 2026-07-04" not in text
