"""Notices and addresses (paragraph 9), grant creation against the plan (paragraphs 1a and
10), and the database constraints that hold the book together whatever code writes it."""

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from grants.models import (
    ClosingPrice,
    Company,
    Exercise,
    Grant,
    Holiday,
    Installment,
    Notice,
    NoticeAddress,
    Plan,
    RegistrationSuspension,
    Section16Window,
    Termination,
    WithholdingRate,
)
from tests.conftest import d
from tests.factories import (
    GrantFactory,
    GrantTermsFactory,
    OptioneeFactory,
    PlanFactory,
    changes_nothing,
)

SEED_ADDRESS = "James R. Akridge\n4300 Bee Caves Road\nAustin, Texas 78746"
NEW_ADDRESS = "James R. Akridge\n100 Congress Avenue\nAustin, Texas 78701"


def notice(optionee, direction, method, *, sent=None, received=None, grant=None, **extra):
    return Notice.objects.create(
        company=optionee.company,
        optionee=optionee,
        grant=grant,
        direction=direction,
        method=method,
        subject="A notice",
        sent_on=d(sent) if sent else None,
        received_on=d(received) if received else None,
        **extra,
    )


# --------------------------------------------------------------------------- paragraph 9


TO_COMPANY = Notice.Direction.TO_COMPANY
TO_OPTIONEE = Notice.Direction.TO_OPTIONEE
MAIL, PERSONAL, EMAIL, PORTAL = (
    Notice.Method.MAIL,
    Notice.Method.PERSONAL,
    Notice.Method.EMAIL,
    Notice.Method.PORTAL,
)


@pytest.mark.parametrize(
    ("direction", "method", "sent", "received", "effective"),
    [
        (TO_COMPANY, PERSONAL, None, "2008-03-03", "2008-03-03"),  # on receipt
        (TO_COMPANY, PORTAL, None, "2008-03-03", "2008-03-03"),
        (TO_COMPANY, MAIL, "2008-03-03", "2008-03-10", "2008-03-10"),  # optionee's mail: receipt
        (TO_COMPANY, MAIL, "2008-03-03", None, None),  # not yet received: not yet effective
        (TO_OPTIONEE, MAIL, "2008-03-03", None, "2008-03-08"),  # 5 days after deposit
        (TO_OPTIONEE, MAIL, "2008-03-03", "2008-03-05", "2008-03-05"),  # receipt first
        (TO_OPTIONEE, MAIL, "2008-03-03", "2008-03-10", "2008-03-08"),  # deposit + 5 first
        (TO_OPTIONEE, MAIL, "2008-03-03", "2008-03-08", "2008-03-08"),
        (TO_OPTIONEE, MAIL, "2008-12-29", None, "2009-01-03"),  # calendar days
        (TO_OPTIONEE, PERSONAL, "2008-03-03", "2008-03-04", "2008-03-04"),
        (TO_OPTIONEE, EMAIL, "2008-03-03", None, None),  # e-mail: only on receipt
        (TO_OPTIONEE, PERSONAL, None, None, None),
    ],
)
def test_notice_effective_date(optionee, direction, method, sent, received, effective):
    made = notice(optionee, direction, method, sent=sent, received=received)
    made.refresh_from_db()
    assert made.effective_on == (d(effective) if effective else None)


def test_a_grant_with_other_terms_uses_its_own_mail_days(optionee, grant):
    terms = GrantTermsFactory(mail_notice_days=3)
    other = GrantFactory(plan=grant.plan, optionee=optionee, grant_terms=terms)
    made = notice(optionee, TO_OPTIONEE, MAIL, sent="2008-03-03", grant=other)
    assert made.effective_on == d("2008-03-06")
    seed_notice = notice(optionee, TO_OPTIONEE, MAIL, sent="2008-03-03", grant=grant)
    assert seed_notice.effective_on == d("2008-03-08")


def test_recording_the_receipt_later_moves_the_effective_date(optionee):
    made = notice(optionee, TO_OPTIONEE, MAIL, sent="2008-03-03")
    assert made.effective_on == d("2008-03-08")
    made.received_on = d("2008-03-04")
    made.save(update_fields=["received_on"])
    made.refresh_from_db()
    assert made.effective_on == d("2008-03-04")


def test_a_notice_to_the_optionee_goes_to_the_address_on_file_when_sent(optionee):
    optionee.change_notice_address(NEW_ADDRESS, received_on=d("2008-03-03"))
    before = notice(optionee, TO_OPTIONEE, MAIL, sent="2008-03-01")
    after = notice(optionee, TO_OPTIONEE, MAIL, sent="2008-03-05")
    assert before.address == SEED_ADDRESS
    assert after.address == NEW_ADDRESS
    explicit = notice(optionee, TO_OPTIONEE, MAIL, sent="2008-03-05", address="c/o counsel")
    assert explicit.address == "c/o counsel"


def test_address_history(optionee):
    assert optionee.notice_address(d("2005-07-12")) == ""
    assert optionee.notice_address(d("2005-07-13")) == SEED_ADDRESS
    before = (Notice.objects.count(), NoticeAddress.objects.count())

    change = optionee.change_notice_address(f"  {NEW_ADDRESS}\n", received_on=d("2008-03-03"))

    assert (Notice.objects.count(), NoticeAddress.objects.count()) == (
        before[0] + 1,
        before[1] + 1,
    )
    assert change.kind == Notice.Kind.ADDRESS_CHANGE
    assert change.direction == Notice.Direction.TO_COMPANY
    assert change.method == Notice.Method.MAIL
    assert change.received_on == d("2008-03-03")
    assert change.effective_on == d("2008-03-03")
    assert change.body == NEW_ADDRESS
    entry = NoticeAddress.objects.get(notice=change)
    assert entry.address == NEW_ADDRESS
    assert entry.effective_on == d("2008-03-03")

    assert optionee.notice_address(d("2008-03-02")) == SEED_ADDRESS
    assert optionee.notice_address(d("2008-03-03")) == NEW_ADDRESS
    assert optionee.notice_address() == NEW_ADDRESS  # today
    # The old address stays in the history.
    assert list(optionee.notice_addresses.values_list("address", flat=True)) == [
        NEW_ADDRESS,
        SEED_ADDRESS,
    ]


def test_the_later_of_two_changes_on_one_day_wins(optionee):
    optionee.change_notice_address("First", received_on=d("2008-03-03"))
    optionee.change_notice_address("Second", received_on=d("2008-03-03"))
    assert optionee.notice_address(d("2008-03-03")) == "Second"


def test_a_change_received_in_person_takes_effect_on_receipt(optionee):
    change = optionee.change_notice_address(
        NEW_ADDRESS, received_on=d("2008-03-03"), method=Notice.Method.PERSONAL
    )
    assert change.effective_on == d("2008-03-03")
    assert optionee.notice_address(d("2008-03-03")) == NEW_ADDRESS


@pytest.mark.parametrize(
    ("address", "received_on", "code"),
    [
        ("", d("2008-03-03"), "empty_address"),
        ("   \n ", d("2008-03-03"), "empty_address"),
        (None, d("2008-03-03"), "empty_address"),
        (NEW_ADDRESS, "2008-03-03", "bad_date"),
        (NEW_ADDRESS, dt.datetime(2008, 3, 3, 10, tzinfo=dt.UTC), "bad_date"),
    ],
)
def test_a_bad_change_of_address_writes_nothing(grant, optionee, address, received_on, code):
    with changes_nothing(grant), pytest.raises(ValidationError) as exc:
        optionee.change_notice_address(address, received_on=received_on)
    assert exc.value.code == code
    assert optionee.notice_address(d("2020-01-01")) == SEED_ADDRESS


# --------------------------------------------------------------------------- Grant.create


def grant_kwargs(grant, **overrides):
    """A valid new grant for the seed optionee in the seed plan, with ``overrides``."""
    kwargs = {
        "number": "VLNC-2006-0002",
        "plan": grant.plan,
        "optionee": grant.optionee,
        "grant_date": d("2006-01-03"),
        "shares": 10_000,
        "exercise_price": Decimal("3.10"),
        "term_end": d("2016-01-03"),
        "installments": [(d("2006-01-03"), 4_000), (d("2007-01-03"), 6_000)],
    }
    kwargs.update(overrides)
    return kwargs


def test_a_valid_grant_is_created_with_its_schedule(grant):
    created = Grant.create(**grant_kwargs(grant))
    assert created.expires_on == d("2016-01-03")
    assert created.expiration_clause == "term"
    assert created.status == Grant.Status.GRANTED
    assert created.terms.name == "Valence 2005 non-qualified stock option"  # the seed's form
    assert created.exercise_price == Decimal("3.10")
    assert list(created.installments.values_list("vest_date", "shares")) == [
        (d("2006-01-03"), 4_000),
        (d("2007-01-03"), 6_000),
    ]
    assert created.vested_shares(d("2007-01-03")) == 10_000
    assert created.history.count() == 1


def test_creating_a_grant_leaves_an_audit_history_of_its_schedule(grant):
    created = Grant.create(**grant_kwargs(grant))
    assert Installment.history.filter(grant_id=created.pk, history_type="+").count() == 2
    assert Installment.history.filter(grant_id=grant.pk, history_type="+").count() == 14


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        (
            {"installments": [(d("2006-01-03"), 4_000), (d("2007-01-03"), 5_999)]},
            "schedule_total_mismatch",
        ),
        (
            {"installments": [(d("2006-01-03"), 4_000), (d("2007-01-03"), 6_001)]},
            "schedule_total_mismatch",
        ),
        (
            {"installments": [(d("2006-01-02"), 4_000), (d("2007-01-03"), 6_000)]},
            "installment_before_grant",
        ),
        (
            {"installments": [(d("2006-01-03"), 4_000), (d("2006-01-03"), 6_000)]},
            "installment_duplicate_date",
        ),
        (
            {"installments": [(d("2006-01-03"), 10_000), (d("2007-01-03"), 0)]},
            "installment_not_positive",
        ),
        (
            {"installments": [(d("2006-01-03"), "4000.5"), (d("2007-01-03"), 5_999.5)]},
            "fractional_shares",
        ),
        ({"installments": [("2006-01-03", 10_000)]}, "bad_date"),
        ({"installments": []}, "no_installments"),
        ({"shares": 0, "installments": [(d("2006-01-03"), 0)]}, "no_shares"),
        ({"shares": "10000.5"}, "fractional_shares"),
        ({"exercise_price": Decimal("-0.01")}, "bad_price"),
        ({"term_end": d("2016-01-04")}, "term_too_long"),  # beyond the plan's 10 years
        ({"term_end": d("2006-01-03")}, "term_before_grant"),
        ({"term_end": d("2005-12-31")}, "term_before_grant"),
        ({"grant_date": dt.datetime(2006, 1, 3, 9, tzinfo=dt.UTC)}, "bad_date"),
        ({"term_end": "2016-01-03"}, "bad_date"),
        ({"number": "VLNC-2005-0001"}, "duplicate"),
        (
            {"shares": 19_000_001, "installments": [(d("2006-01-03"), 19_000_001)]},
            "reserve_exceeded",
        ),
    ],
)
def test_grant_create_refusals_write_nothing(grant, overrides, code):
    before = (Installment.history.count(), Plan.history.count())
    # Made on its grant date, when the seed grant is outstanding and draws on the reserve.
    with (
        time_machine.travel(dt.datetime(2006, 1, 3, 16, tzinfo=dt.UTC), tick=False),
        changes_nothing(grant),
        pytest.raises(ValidationError) as exc,
    ):
        Grant.create(**grant_kwargs(grant, **overrides))
    assert exc.value.code == code
    assert exc.value.messages[0]
    assert (Installment.history.count(), Plan.history.count()) == before
    assert not Grant.objects.filter(number="VLNC-2006-0002").exists()


def test_an_optionee_of_another_company_is_refused(grant):
    stranger = OptioneeFactory()
    with changes_nothing(grant), pytest.raises(ValidationError) as exc:
        Grant.create(**grant_kwargs(grant, optionee=stranger))
    assert exc.value.code == "company_mismatch"


def test_a_term_of_exactly_the_plan_maximum_is_accepted(grant):
    created = Grant.create(**grant_kwargs(grant, term_end=d("2016-01-03")))
    assert created.term_end == d("2016-01-03")


def test_a_plan_with_a_shorter_maximum_term_controls(grant):
    plan = PlanFactory(company=grant.company, max_term_years=5)
    with changes_nothing(grant), pytest.raises(ValidationError) as exc:
        Grant.create(**grant_kwargs(grant, plan=plan, term_end=d("2011-01-04")))
    assert exc.value.code == "term_too_long"
    assert "5 years" in str(exc.value)
    assert Grant.create(**grant_kwargs(grant, plan=plan, term_end=d("2011-01-03")))


# --------------------------------------------------------------------------- plan reserve


def test_plan_reserve_accounting(grant):
    plan = grant.plan
    assert plan.share_reserve == 20_000_000
    assert plan.reserve_used() == 1_000_000
    assert plan.reserve_available() == 19_000_000
    assert plan.reserve_used(excluding=grant) == 0

    Grant.create(**grant_kwargs(grant))
    assert plan.reserve_used() == 1_010_000
    assert plan.reserve_available() == 18_990_000

    # Grants under another plan do not draw on this reserve.
    GrantFactory(shares=50_000)
    assert plan.reserve_available() == 18_990_000

    # Exercised shares stay issued under the plan: exercise does not return them.
    grant.request_exercise(100_000, d("2005-08-01"), payment_method="cash")
    assert plan.reserve_available() == 18_990_000

    # Shares returned to the reserve (recorded by the nightly job) are available again.
    Grant.objects.filter(pk=grant.pk).update(returned_shares=506_250)
    assert plan.reserve_used() == 1_010_000 - 506_250
    assert plan.reserve_available() == 18_990_000 + 506_250


@time_machine.travel(dt.datetime(2006, 1, 3, 16, tzinfo=dt.UTC), tick=False)
def test_a_grant_may_take_exactly_the_rest_of_the_reserve(grant):
    everything = grant_kwargs(
        grant, shares=19_000_000, installments=[(d("2006-01-03"), 19_000_000)]
    )
    Grant.create(**everything)
    assert grant.plan.reserve_available() == 0
    with changes_nothing(grant), pytest.raises(ValidationError) as exc:
        Grant.create(
            **grant_kwargs(
                grant, number="VLNC-2006-0003", shares=1, installments=[(d("2006-01-03"), 1)]
            )
        )
    assert exc.value.code == "reserve_exceeded"
    assert "0 shares left" in str(exc.value)


def test_returned_shares_make_room_for_a_new_grant(grant):
    Grant.create(
        **grant_kwargs(grant, shares=19_000_000, installments=[(d("2006-01-03"), 19_000_000)])
    )
    Grant.objects.filter(pk=grant.pk).update(returned_shares=10_000)
    created = Grant.create(**grant_kwargs(grant, number="VLNC-2006-0003"))
    assert created.shares == 10_000
    assert grant.plan.reserve_available() == 0


# --------------------------------------------------------------------------- DB constraints


def integrity_error(make):
    """``make`` must be refused by the database itself; the test goes on afterwards."""
    with pytest.raises(IntegrityError), transaction.atomic():
        make()


def exercise_row(grant, **overrides):
    fields = {
        "grant": grant,
        "shares": 1_000,
        "exercise_date": d("2007-05-01"),
        "payment_method": "cash",
        "price_per_share": Decimal("2.99"),
        "aggregate_price": Decimal("2990.00"),
    }
    fields.update(overrides)
    return Exercise.objects.create(**fields)


@pytest.mark.parametrize("shares", [0, -1])
def test_installment_shares_must_be_positive(grant, shares):
    before = Installment.objects.count()
    integrity_error(
        lambda: Installment.objects.create(grant=grant, vest_date=d("2010-01-13"), shares=shares)
    )
    assert Installment.objects.count() == before


def test_one_installment_per_date(grant):
    integrity_error(
        lambda: Installment.objects.create(grant=grant, vest_date=d("2005-07-13"), shares=1)
    )


@pytest.mark.parametrize("shares", [0, -5])
def test_exercise_shares_must_be_positive(grant, shares):
    integrity_error(lambda: exercise_row(grant, shares=shares))
    assert not Exercise.objects.exists()


def test_no_shares_issued_before_payment_in_the_database(grant):
    integrity_error(lambda: exercise_row(grant, status="issued", shares_issued_on=d("2007-05-02")))
    exercise = exercise_row(grant)

    def issue_without_payment():
        Exercise.objects.filter(pk=exercise.pk).update(shares_issued_on=d("2007-05-02"))

    integrity_error(issue_without_payment)


@pytest.mark.parametrize(
    "change",
    [
        {"shares": 0},
        {"exercise_price": Decimal("-1")},
        {"expires_on": d("2015-07-14")},  # past the term's end
        {"term_end": d("2005-07-13"), "expires_on": d("2005-07-13")},  # term not after grant
        {"returned_shares": 1_000_001},  # more returned than granted
    ],
)
def test_grant_row_constraints(grant, change):
    integrity_error(lambda: Grant.objects.filter(pk=grant.pk).update(**change))
    grant.refresh_from_db()
    assert grant.shares == 1_000_000
    assert grant.expires_on == d("2015-07-13")


def test_only_one_standing_termination_in_the_database(grant, optionee):
    optionee.terminate(d("2008-01-31"), "other")
    integrity_error(
        lambda: Termination.objects.create(optionee=optionee, on=d("2008-02-29"), reason="other")
    )
    assert Termination.objects.count() == 1


def test_a_death_termination_carries_the_date_of_death(grant, optionee):
    integrity_error(
        lambda: Termination.objects.create(
            optionee=optionee,
            on=d("2008-01-31"),
            reason="INVOLUNTARY_DEATH",
            date_of_death=d("2008-01-30"),
        )
    )
    integrity_error(
        lambda: Termination.objects.create(
            optionee=optionee, on=d("2008-01-31"), reason="INVOLUNTARY_DEATH"
        )
    )


def test_period_constraints(grant, company, optionee):
    integrity_error(
        lambda: RegistrationSuspension.objects.create(
            company=company, start=d("2008-02-19"), end=d("2008-02-10")
        )
    )
    integrity_error(
        lambda: Section16Window.objects.create(
            optionee=optionee, start=d("2008-05-15"), end=d("2008-03-01")
        )
    )


def test_a_notice_cannot_be_received_before_it_was_sent(optionee):
    integrity_error(
        lambda: notice(optionee, TO_OPTIONEE, MAIL, sent="2008-03-03", received="2008-03-02")
    )


def test_company_constraints(grant, company):
    integrity_error(
        lambda: Company.objects.create(name="Backwards", opens_at=dt.time(17), closes_at=dt.time(9))
    )
    integrity_error(lambda: Company.objects.create(name="Eight days", business_days="12348"))
    integrity_error(lambda: Company.objects.create(name="No days", business_days=""))
    Holiday.objects.create(company=company, date=d("2007-05-28"), name="Memorial Day")
    integrity_error(
        lambda: Holiday.objects.create(company=company, date=d("2007-05-28"), name="Again")
    )
    integrity_error(
        lambda: WithholdingRate.objects.create(
            company=company, name="Too much", rate=Decimal("1.5")
        )
    )
    integrity_error(
        lambda: ClosingPrice.objects.create(company=company, date=d("2007-05-01"), price=0)
    )


def test_plan_constraints(company):
    integrity_error(lambda: Plan.objects.create(company=company, name="Empty", share_reserve=0))
    integrity_error(
        lambda: Plan.objects.create(
            company=company, name="No term", share_reserve=1, max_term_years=0
        )
    )
    integrity_error(
        lambda: Plan.objects.create(
            company=company, name="Compensatory Benefit Plan", share_reserve=1
        )
    )
