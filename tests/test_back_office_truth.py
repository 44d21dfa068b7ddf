"""The back office refuses what cannot be true and can correct a mistake (issue 14): dates
of things that happened are not after today, a price is above zero and a discount is
confirmed, a grant recorded in error is cancelled, closing prices are for trading days,
errors stand by their fields, and a new hire is onboarded and invited to the portal."""

import datetime as dt
import re
from decimal import Decimal

import pytest
import time_machine
from django.core import mail
from django.core.exceptions import ValidationError
from django.urls import reverse

from grants.models import ClosingPrice, Grant, Notice, NoticeAddress, Optionee, WithholdingRate
from grants.roles import STOCK_ADMINISTRATOR, assign_role
from tests.conftest import d
from tests.factories import GrantFactory, UserFactory, changes_nothing


def page(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


@pytest.fixture
def staff(client, grant):
    user = UserFactory()
    assign_role(user, STOCK_ADMINISTRATOR)
    client.force_login(user)
    return client


# --------------------------------------------------------------------------- dates


def test_a_notice_payment_or_issue_dated_after_today_is_refused(grant):
    today = grant.company.today()
    tomorrow = today + dt.timedelta(days=1)
    with changes_nothing(grant), pytest.raises(ValidationError) as exc:
        grant.request_exercise(1_000, tomorrow, payment_method="cash")
    assert exc.value.code == "after_today"
    exercise = grant.request_exercise(1_000, d("2008-03-03"), payment_method="regt")
    with pytest.raises(ValidationError) as exc:
        exercise.mark_paid(tomorrow)
    assert exc.value.code == "after_today"
    exercise.mark_paid(today)
    with pytest.raises(ValidationError) as exc:
        exercise.issue_shares(tomorrow)
    assert exc.value.code == "after_today"
    with pytest.raises(ValidationError) as exc:
        grant.optionee.change_notice_address("A\nB", received_on=tomorrow)
    assert exc.value.code == "after_today"


def test_an_address_changed_a_then_b_then_a_on_one_day_leaves_a(optionee):
    a, b = "James R. Akridge\n1 First Street\nAustin, TX", "James R. Akridge\n2 Second St\nAustin"
    day = d("2008-03-03")
    optionee.change_notice_address(a, received_on=day)
    optionee.change_notice_address(b, received_on=day)
    optionee.change_notice_address(a, received_on=day)
    assert optionee.notice_address(day) == a
    optionee.change_notice_address(a, received_on=day)  # the same form sent again
    assert optionee.notices.filter(kind=Notice.Kind.ADDRESS_CHANGE).count() == 3


def test_a_back_dated_change_of_address_says_what_it_changed(staff, optionee, grant):
    with time_machine.travel(dt.datetime(2008, 3, 20, 15, tzinfo=dt.UTC), tick=False):
        staff.force_login(UserFactory(is_staff=True, is_superuser=True))
        Notice.objects.create(
            company=grant.company,
            optionee=optionee,
            direction=Notice.Direction.TO_OPTIONEE,
            method=Notice.Method.MAIL,
            subject="A letter",
            sent_on=d("2008-03-10"),
        )
        response = staff.post(
            reverse("admin:grants_notice_change_address"),
            {
                "optionee": optionee.pk,
                "address": "James R. Akridge\n100 Congress Avenue\nAustin, Texas 78701",
                "received_on": "2008-03-03",
                "method": "mail",
            },
            follow=True,
        )
    text = page(response)
    assert (
        "It is back-dated: the address on file from 2008-03-03 to today is now the new one" in text
    )
    assert "1 notice(s) mailed since then went to the old address" in text


# --------------------------------------------------------------------------- prices


def grant_data(grant, **overrides) -> dict:
    data = {
        "number": "NEW-0001",
        "optionee": grant.optionee.pk,
        "plan": grant.plan.pk,
        "terms": grant.terms.pk,
        "option_type": "NSO",
        "grant_date": "2026-11-02",
        "shares": "1000",
        "exercise_price": "5.00",
        "term_end": "2036-11-02",
        "schedule_kind": "custom",
        "custom_installments": "2026-11-02, 1000",
        "immediate_shares": "0",
        "cliff_months": "0",
        "vesting_months": "0",
        "every_months": "3",
    }
    data.update(overrides)
    return data


def test_a_zero_exercise_price_is_refused_next_to_its_field(staff, grant):
    with changes_nothing(grant):
        response = staff.post(
            reverse("admin:grants_grant_add"), grant_data(grant, exercise_price="0")
        )
    assert "The exercise price must be above zero." in page(response)
    assert response.context["form"].errors["exercise_price"]
    with pytest.raises(ValidationError) as exc:
        GrantFactory(plan=grant.plan, exercise_price=Decimal("0"))
    assert exc.value.code == "bad_price"


def test_a_discounted_price_needs_the_confirmation_after_the_warning(staff, grant):
    ClosingPrice.objects.create(company=grant.company, date=d("2026-11-02"), price=Decimal("6"))
    with changes_nothing(grant):
        warned = staff.post(reverse("admin:grants_grant_add"), grant_data(grant))
    assert "this would be a discounted option" in page(warned)
    confirmed = staff.post(
        reverse("admin:grants_grant_add"), grant_data(grant, discount_confirmed="on")
    )
    assert confirmed.status_code == 302
    assert Grant.objects.get(number="NEW-0001").exercise_price == Decimal("5.00")


def test_closing_prices_only_for_trading_days(staff, grant):
    add = reverse("admin:grants_closingprice_add")
    for day, reason in [("2026-07-03", "exchange holiday"), ("2026-11-28", "Saturday")]:
        response = staff.post(add, {"company": grant.company.pk, "date": day, "price": "5"})
        assert reason in page(response)
    assert not ClosingPrice.objects.exists()


def test_a_price_used_by_an_exercise_cannot_be_deleted(staff, grant):
    price = ClosingPrice.objects.create(company=grant.company, date=d("2008-03-03"), price=5)
    grant.request_exercise(1_000, d("2008-03-04"), payment_method="cash")
    response = staff.post(
        reverse("admin:grants_closingprice_delete", args=[price.pk]), {"post": "yes"}, follow=True
    )
    assert "it cannot be deleted" in page(response)
    assert ClosingPrice.objects.filter(pk=price.pk).exists()
    response = staff.post(
        reverse("admin:grants_closingprice_changelist"),
        {"action": "delete_selected", "_selected_action": [price.pk], "post": "yes"},
        follow=True,
    )
    assert "cannot be deleted" in page(response)
    assert ClosingPrice.objects.filter(pk=price.pk).exists()
    unused = ClosingPrice.objects.create(company=grant.company, date=d("2008-05-05"), price=5)
    with pytest.raises(ValidationError):
        price.delete()
    unused.delete()


def test_no_raw_constraint_message_reaches_a_person(staff, grant):
    WithholdingRate.objects.create(company=grant.company, name="Federal", rate=Decimal("0.22"))
    response = staff.post(
        reverse("admin:grants_company_change", args=[grant.company.pk]),
        {
            "name": grant.company.name,
            "time_zone": "America/Chicago",
            "holiday_calendar": "US",
            "opens_at": "17:00",
            "closes_at": "09:00",
            "business_days": "12345",
            "expiry_warning_days": "60,30,14,7,1",
            "holidays-TOTAL_FORMS": "0",
            "holidays-INITIAL_FORMS": "0",
            "withholding_rate_set-TOTAL_FORMS": "0",
            "withholding_rate_set-INITIAL_FORMS": "0",
        },
    )
    text = page(response)
    assert "is violated" not in text
    assert "Business hours must open before they close." in text


# --------------------------------------------------------------------------- a grant in error


def test_a_grant_recorded_in_error_is_cancelled_and_its_shares_return(staff, grant):
    made = GrantFactory(plan=grant.plan, optionee=grant.optionee, grant_date=d("2008-01-02"))
    available = grant.plan.reserve_available()
    response = staff.post(
        reverse("admin:grants_grant_cancel", args=[made.pk]),
        {"reason": "Entered twice; the right grant is VLNC-2008-0002."},
        follow=True,
    )
    assert "is cancelled" in page(response)
    made.refresh_from_db()
    assert made.status == Grant.Status.CANCELLED
    assert made.returned_shares == made.shares
    assert grant.plan.reserve_available() == available + made.shares
    assert made.exercisable_shares(d("2008-03-03")) == 0
    assert made.history.first().cancellation_reason.startswith("Entered twice")
    with pytest.raises(ValidationError) as exc:
        made.request_exercise(1_000, d("2008-03-03"), payment_method="cash")
    assert exc.value.code == "cancelled"


def test_a_grant_with_an_exercise_is_not_cancelled(grant):
    grant.request_exercise(1_000, d("2008-03-03"), payment_method="cash")
    with changes_nothing(grant), pytest.raises(ValidationError) as exc:
        grant.cancel("Wrong.")
    assert exc.value.code == "exercised"


# --------------------------------------------------------------------------- onboarding


def test_a_new_hire_is_recorded_with_a_notice_address_and_invited(
    staff, grant, django_capture_on_commit_callbacks
):
    response = staff.post(
        reverse("admin:grants_optionee_add"),
        {
            "company": grant.company.pk,
            "legal_name": "Nadia Okafor",
            "email": "nadia@example.com",
            "employee_id": "V-9001",
            "relationship": "employee",
            "notice_address": "Nadia Okafor\n12 Elm Street\nAustin, Texas 78701",
            "terminations-TOTAL_FORMS": "0",
            "terminations-INITIAL_FORMS": "0",
            "section16_windows-TOTAL_FORMS": "0",
            "section16_windows-INITIAL_FORMS": "0",
            "notice_addresses-TOTAL_FORMS": "0",
            "notice_addresses-INITIAL_FORMS": "0",
            "successors-TOTAL_FORMS": "0",
            "successors-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302, page(response)
    nadia = Optionee.objects.get(legal_name="Nadia Okafor")
    assert NoticeAddress.objects.get(optionee=nadia).address.startswith("Nadia Okafor")
    assert "Invite to the portal" in page(
        staff.get(reverse("admin:grants_optionee_change", args=[nadia.pk]))
    )
    with django_capture_on_commit_callbacks(execute=True):
        staff.post(reverse("admin:grants_optionee_invite", args=[nadia.pk]))
    nadia.refresh_from_db()
    assert nadia.user.username == "nadia"
    assert not nadia.user.has_usable_password()
    [invitation] = mail.outbox
    assert invitation.to == ["nadia@example.com"]
    link = re.search(r"http://testserver(/accounts/password/reset/\S+/)", invitation.body).group(1)
    staff.logout()
    form = staff.get(link, follow=True)
    assert form.status_code == 200
    done = staff.post(
        form.redirect_chain[-1][0] if form.redirect_chain else link,
        {"new_password1": "a-long-Passphrase-2026", "new_password2": "a-long-Passphrase-2026"},
    )
    assert done.status_code == 302
    nadia.user.refresh_from_db()
    assert nadia.user.check_password("a-long-Passphrase-2026")


def test_an_optionee_without_an_address_is_not_invited(staff, grant):
    optionee = grant.optionee
    optionee.email = ""
    optionee.save()
    response = staff.post(reverse("admin:grants_optionee_invite", args=[optionee.pk]), follow=True)
    assert "e-mail address first: the invitation goes there" in page(response)
    optionee.refresh_from_db()
    assert optionee.user is None
