"""The rules engine, clause by clause, against the seed agreement as DOMAIN.md reads it.

Pure tests: plain dates, ints and Decimals. No database (no ``db`` fixture): pytest-django
refuses any query, so a rule that reached for the ORM would fail here.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError

from grants import rules
from grants.rules import (
    BusinessCalendar,
    Installment,
    Period,
    Termination,
    Terms,
)
from grants.seed import SEED_GRANT_DATE, SEED_TERM_END, seed_installments

SEED = [Installment(vest_date, shares) for vest_date, shares in seed_installments()]
SEED_TOTAL = 1_000_000
CHICAGO = ZoneInfo("America/Chicago")
UTC = dt.UTC


def d(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


def chicago(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=CHICAGO)


def utc(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=UTC)


STANDARD_TERMS = Terms()
TERMINATED_ON = d("2008-01-31")  # the DOMAIN.md tolling example's termination date
# The day the examples are read on, unless they say otherwise: after every suspension they
# record has started (one that has not started changes nothing until its first day).
AFTER_THE_EXAMPLES = d("2016-01-04")


def expires(
    termination: Termination | None = None,
    *,
    suspensions: tuple[Period, ...] = (),
    windows: tuple[Period, ...] = (),
    terms: Terms = STANDARD_TERMS,
    today: dt.date = AFTER_THE_EXAMPLES,
    term_end: dt.date = SEED_TERM_END,
) -> rules.Expiration:
    return rules.expiration(
        term_end=term_end,
        terms=terms,
        termination=termination,
        suspensions=suspensions,
        liability_windows=windows,
        today=today,
    )


def check_exercise(
    shares: int,
    *,
    on: dt.date,
    exercised: int = 0,
    service_end: dt.date | None = None,
    installments: list[Installment] = SEED,
    minimum: int = 1000,
    charged: dict | None = None,
) -> dt.date | None:
    """Paragraph 3 as the portal applies it: exercisable computed by the engine itself;
    returns the installment an exercise under exception (a) is charged to."""
    exercisable = rules.exercisable_shares(
        installments=installments,
        on=on,
        exercised=exercised,
        service_end=service_end,
        expires_on=SEED_TERM_END,
    )
    return rules.check_minimum_exercise(
        shares=shares,
        installments=installments,
        on=on,
        exercised=exercised,
        charged=charged,
        exercisable=exercisable,
        service_end=service_end,
        minimum=minimum,
    )


# ============================================================== the seed grant (fixture)


def test_the_seed_schedule_is_fourteen_installments_adding_up_to_1_000_000_shares():
    assert len(SEED) == 14
    assert sum(i.shares for i in SEED) == SEED_TOTAL
    assert SEED[0] == Installment(d("2005-07-13"), 100_000)
    assert SEED[1] == Installment(d("2006-07-13"), 225_000)
    quarterly = [
        "2006-10-13",
        "2007-01-13",
        "2007-04-13",
        "2007-07-13",
        "2007-10-13",
        "2008-01-13",
        "2008-04-13",
        "2008-07-13",
        "2008-10-13",
        "2009-01-13",
        "2009-04-13",
        "2009-07-13",
    ]
    assert [i.vest_date for i in SEED[2:]] == [d(x) for x in quarterly]
    assert {i.shares for i in SEED[2:]} == {56_250}


# ============================================================== paragraph 1: vesting


def test_installment_counts_on_its_vesting_date():
    assert rules.vested_shares(SEED, d("2005-07-12")) == 0
    assert rules.vested_shares(SEED, d("2005-07-13")) == 100_000
    assert rules.vested_shares(SEED, d("2006-07-12")) == 100_000
    assert rules.vested_shares(SEED, d("2006-07-13")) == 325_000


def test_on_2007_05_01_the_seed_grant_has_493_750_vested_shares():
    assert rules.vested_shares(SEED, d("2007-05-01")) == 493_750


def test_every_share_has_vested_from_the_last_installment_2009_07_13():
    assert rules.vested_shares(SEED, d("2009-07-12")) == SEED_TOTAL - 56_250
    assert rules.vested_shares(SEED, d("2009-07-13")) == SEED_TOTAL
    assert rules.vested_shares(SEED, SEED_TERM_END) == SEED_TOTAL


def test_vesting_stops_at_termination_an_installment_on_the_termination_date_counts():
    # Terminated on 2007-04-13, the day an installment vests: it counts.
    assert rules.vested_shares(SEED, d("2010-01-01"), service_end=d("2007-04-13")) == 493_750


def test_vesting_stops_at_termination_an_installment_after_it_does_not_vest():
    assert rules.vested_shares(SEED, d("2010-01-01"), service_end=d("2007-04-12")) == 437_500


def test_vesting_before_the_termination_date_still_follows_the_calendar():
    assert rules.vested_shares(SEED, d("2006-01-01"), service_end=d("2007-04-13")) == 100_000


def test_shares_not_vested_on_the_termination_date_are_forfeited_on_it():
    assert rules.forfeited_shares(SEED, d("2007-04-13")) == 506_250
    assert rules.forfeited_shares(SEED, d("2007-04-12")) == 562_500
    vested = rules.vested_shares(SEED, d("2007-04-13"), service_end=d("2007-04-13"))
    assert vested + rules.forfeited_shares(SEED, d("2007-04-13")) == SEED_TOTAL


def test_nothing_is_forfeited_without_a_termination_or_after_full_vesting():
    assert rules.forfeited_shares(SEED, None) == 0
    assert rules.forfeited_shares(SEED, d("2009-07-13")) == 0


# ============================================================== exercisable shares


def exercisable(on: str, exercised: int = 0, **kwargs) -> int:
    kwargs.setdefault("service_end", None)
    kwargs.setdefault("expires_on", SEED_TERM_END)
    return rules.exercisable_shares(installments=SEED, on=d(on), exercised=exercised, **kwargs)


def test_exercisable_shares_are_vested_shares_minus_accepted_exercises():
    assert exercisable("2007-05-01") == 493_750
    assert exercisable("2007-05-01", exercised=100_000) == 393_750
    assert exercisable("2007-05-01", exercised=493_750) == 0


def test_nothing_is_exercisable_on_a_day_of_registration_suspension():
    suspended = (Period(d("2007-05-01"), d("2007-05-10")),)
    assert exercisable("2007-04-30", suspensions=suspended) == 493_750
    assert exercisable("2007-05-01", suspensions=suspended) == 0
    assert exercisable("2007-05-10", suspensions=suspended) == 0
    assert exercisable("2007-05-11", suspensions=suspended) == 493_750


def test_nothing_is_exercisable_while_an_open_ended_suspension_lasts():
    suspended = (Period(d("2007-05-01")),)
    assert exercisable("2007-04-30", suspensions=suspended) == 493_750
    assert exercisable("2007-05-01", suspensions=suspended) == 0
    assert exercisable("2015-01-01", suspensions=suspended) == 0


def test_the_option_is_exercisable_on_its_expiration_date_and_not_after():
    assert exercisable("2007-07-13", expires_on=d("2007-07-13")) == 550_000
    assert exercisable("2007-07-14", expires_on=d("2007-07-13")) == 0


def test_after_termination_only_shares_vested_on_the_termination_date_are_exercisable():
    assert exercisable("2007-06-01", service_end=d("2007-04-13")) == 493_750
    assert exercisable("2007-07-13", service_end=d("2007-04-13")) == 493_750


def test_exercisable_shares_are_never_negative():
    # A termination reported late: more was exercised than had vested on its date.
    assert exercisable("2007-08-01", exercised=550_000, service_end=d("2007-04-13")) == 0


# ============================================================== paragraph 3: whole shares


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1000, 1000),
        ("1000", 1000),
        ("1,000", 1000),
        (" 1,000 ", 1000),
        ("1000.00", 1000),
        (Decimal("1000"), 1000),
        (Decimal("1000.0"), 1000),
    ],
)
def test_a_whole_number_of_shares_is_accepted(value, expected):
    result = rules.whole_shares(value)
    assert result == expected
    assert type(result) is int


@pytest.mark.parametrize(
    ("value", "code", "named"),
    [
        (Decimal("1.5"), "fractional_shares", "1.5"),
        ("1,000.5", "fractional_shares", "1000.5"),
        (2.5, "fractional_shares", "2.5"),
        ("abc", "shares_not_a_number", "abc"),
        ("", "shares_not_a_number", "whole number"),
        (None, "shares_not_a_number", "whole number"),
        (True, "shares_not_a_number", "whole number"),
        (False, "shares_not_a_number", "whole number"),
        (Decimal("NaN"), "shares_not_a_number", "whole number"),
        ("Infinity", "shares_not_a_number", "whole number"),
    ],
)
def test_the_option_may_be_exercised_for_only_whole_shares(value, code, named):
    with pytest.raises(ValidationError) as exc:
        rules.whole_shares(value)
    assert exc.value.code == code
    assert named in exc.value.messages[0]


# ============================================================== paragraph 3: minimum exercise


def test_with_100_000_vested_and_more_to_vest_999_shares_are_refused():
    with pytest.raises(ValidationError) as exc:
        check_exercise(999, on=d("2005-08-01"))
    assert exc.value.code == "below_minimum"
    assert "1,000" in exc.value.messages[0]
    assert "999" in exc.value.messages[0]


def test_with_100_000_vested_and_more_to_vest_1_000_shares_are_accepted():
    check_exercise(1000, on=d("2005-08-01"))
    check_exercise(100_000, on=d("2005-08-01"))


@pytest.mark.parametrize("shares", [0, -1, -1000])
def test_an_exercise_must_be_for_more_than_zero_shares(shares):
    with pytest.raises(ValidationError) as exc:
        check_exercise(shares, on=d("2005-08-01"))
    assert exc.value.code == "shares_not_positive"


def test_an_exercise_may_not_take_more_shares_than_are_exercisable():
    with pytest.raises(ValidationError) as exc:
        check_exercise(100_001, on=d("2005-08-01"))
    assert exc.value.code == "more_than_exercisable"
    assert "100,000" in exc.value.messages[0]
    assert "100,001" in exc.value.messages[0]
    assert "2005-08-01" in exc.value.messages[0]


def test_no_exercise_when_nothing_is_exercisable():
    with pytest.raises(ValidationError) as exc:
        check_exercise(1000, on=d("2005-08-01"), exercised=100_000)
    assert exc.value.code == "nothing_exercisable"
    assert "2005-08-01" in exc.value.messages[0]


def test_the_minimum_is_a_term_of_the_grant():
    check_exercise(500, on=d("2005-08-01"), minimum=500)
    with pytest.raises(ValidationError) as exc:
        check_exercise(499, on=d("2005-08-01"), minimum=500)
    assert exc.value.code == "below_minimum"
    assert "500" in exc.value.messages[0]


# A schedule with an installment smaller than the minimum (paragraph 3, exception (a)).
SMALL = [
    Installment(d("2010-01-15"), 10_000),
    Installment(d("2010-04-15"), 500),
    Installment(d("2010-07-15"), 9_500),
]


def test_ledger_takes_exercised_shares_from_the_oldest_installment_first():
    remainders = [r for _, r in rules.unexercised_by_installment(SMALL, 10_200)]
    assert remainders == [0, 300, 9_500]
    # The order of the input does not matter: vesting order does.
    remainders = [r for _, r in rules.unexercised_by_installment(SMALL[::-1], 10_200)]
    assert remainders == [0, 300, 9_500]


def test_an_installment_smaller_than_the_minimum_may_be_exercised_as_a_whole():
    # The 10,000-share installment has been exercised in full; the 500 remain.
    check_exercise(500, on=d("2010-05-01"), exercised=10_000, installments=SMALL)


def test_the_unexercised_remainder_of_a_small_installment_may_be_exercised():
    # 10,200 exercised: the ledger took 200 of the 500-share installment; 300 remain.
    check_exercise(300, on=d("2010-05-01"), exercised=10_200, installments=SMALL)
    with pytest.raises(ValidationError) as exc:
        check_exercise(299, on=d("2010-05-01"), exercised=10_200, installments=SMALL)
    assert exc.value.code == "below_minimum"


def test_a_small_installment_is_no_exception_before_it_vests():
    with pytest.raises(ValidationError) as exc:
        check_exercise(500, on=d("2010-04-14"), exercised=9_500, installments=SMALL)
    assert exc.value.code == "below_minimum"


def test_exception_a_names_no_order_and_is_charged_to_the_small_installment():
    # Nothing exercised yet: 500 shares are the whole of the 500-share installment, which
    # comes after a larger one. Exception 3(a) names no order, so it is allowed, and the
    # exercise is charged to that installment (DOMAIN.md, minimum exercise).
    charged_to = check_exercise(500, on=d("2010-05-01"), exercised=0, installments=SMALL)
    assert charged_to == d("2010-04-15")
    ledger = rules.unexercised_by_installment(SMALL, 500, {charged_to: 500})
    assert [r for _, r in ledger] == [10_000, 0, 9_500]


def test_a_small_installment_excuses_one_exercise_only():
    # The 500 were charged to their installment: the exception cannot be used again, and
    # 500 shares of the larger installment are below the minimum.
    with pytest.raises(ValidationError) as exc:
        check_exercise(
            500,
            on=d("2010-05-01"),
            exercised=500,
            installments=SMALL,
            charged={d("2010-04-15"): 500},
        )
    assert exc.value.code == "below_minimum"


def test_domain_example_2500_500_7000():
    schedule = [
        Installment(d("2010-01-15"), 2_500),
        Installment(d("2010-02-15"), 500),
        Installment(d("2010-03-15"), 7_000),
    ]
    assert check_exercise(500, on=d("2010-05-01"), installments=schedule) == d("2010-02-15")
    with pytest.raises(ValidationError) as exc:
        check_exercise(400, on=d("2010-05-01"), installments=schedule)
    assert exc.value.code == "below_minimum"


def test_a_small_first_installment_may_be_exercised_as_a_whole_once():
    small_first = [
        Installment(d("2010-01-15"), 500),
        Installment(d("2010-04-15"), 10_000),
        Installment(d("2010-07-15"), 9_500),
    ]
    check_exercise(500, on=d("2010-05-01"), exercised=0, installments=small_first)
    with pytest.raises(ValidationError) as exc:
        check_exercise(500, on=d("2010-05-01"), exercised=500, installments=small_first)
    assert exc.value.code == "below_minimum"


def test_a_small_installment_after_termination_is_forfeited_not_an_exception():
    with pytest.raises(ValidationError) as exc:
        check_exercise(
            500,
            on=d("2010-05-01"),
            exercised=9_000,
            service_end=d("2010-04-14"),
            installments=SMALL,
        )
    # 1,000 exercisable (the rest of the first installment): 500 is neither final nor (a).
    assert exc.value.code == "below_minimum"


def test_after_termination_the_last_500_exercisable_shares_may_be_exercised():
    # Terminated 2007-04-13 with 493,750 vested; 493,250 already exercised.
    check_exercise(500, on=d("2007-05-01"), exercised=493_250, service_end=d("2007-04-13"))


def test_after_termination_the_final_exercise_must_take_every_remaining_share():
    with pytest.raises(ValidationError) as exc:
        check_exercise(499, on=d("2007-05-01"), exercised=493_250, service_end=d("2007-04-13"))
    assert exc.value.code == "below_minimum"


def test_after_every_installment_has_vested_the_final_500_shares_may_be_exercised():
    check_exercise(500, on=d("2010-01-04"), exercised=SEED_TOTAL - 500)


def test_the_final_exercise_exception_does_not_apply_while_more_is_to_vest():
    with pytest.raises(ValidationError) as exc:
        check_exercise(500, on=d("2007-05-01"), exercised=493_250)
    assert exc.value.code == "below_minimum"


# ============================================================== paragraphs 4 and 7: registration


SUSPENSION = Period(d("2008-02-10"), d("2008-02-19"))


@pytest.mark.parametrize("day", ["2008-02-10", "2008-02-15", "2008-02-19"])
def test_no_exercise_on_a_day_inside_a_registration_suspension(day):
    with pytest.raises(ValidationError) as exc:
        rules.check_registration(d(day), [SUSPENSION])
    assert exc.value.code == "registration_suspended"
    message = exc.value.messages[0]
    assert "2008-02-10" in message
    assert "through 2008-02-19" in message
    assert day in message


@pytest.mark.parametrize("day", ["2008-02-09", "2008-02-20"])
def test_exercise_allowed_on_the_days_either_side_of_a_suspension(day):
    rules.check_registration(d(day), [SUSPENSION])
    assert not rules.is_suspended(d(day), [SUSPENSION])


@pytest.mark.parametrize("day", ["2008-02-10", "2015-07-13"])
def test_no_exercise_while_an_open_ended_suspension_lasts(day):
    with pytest.raises(ValidationError) as exc:
        rules.check_registration(d(day), [Period(d("2008-02-10"))])
    assert exc.value.code == "registration_suspended"
    assert "until further notice" in exc.value.messages[0]


def test_exercise_allowed_before_an_open_ended_suspension_and_with_none_recorded():
    rules.check_registration(d("2008-02-09"), [Period(d("2008-02-10"))])
    rules.check_registration(d("2008-02-10"), [])


# ============================================================== paragraph 5: month arithmetic


@pytest.mark.parametrize(
    ("start", "months", "days", "expected"),
    [
        ("2008-01-31", 3, 0, "2008-04-30"),
        ("2008-11-30", 3, 0, "2009-02-28"),
        ("2007-11-30", 3, 0, "2008-02-29"),
        ("2008-02-29", 12, 0, "2009-02-28"),
        ("2008-02-29", 48, 0, "2012-02-29"),
        ("2008-01-15", 3, 0, "2008-04-15"),
        ("2005-07-13", 120, 0, "2015-07-13"),
        ("2008-01-31", 18, 0, "2009-07-31"),
        # six months and ten days: months first (2008-08-31 -> 2009-02-28), then days
        ("2008-08-31", 6, 10, "2009-03-10"),
        ("2008-01-31", 6, 10, "2008-08-10"),
        ("2008-12-25", 6, 10, "2009-07-05"),
    ],
)
def test_n_months_after_a_date_is_the_same_day_or_the_last_day_of_that_month(
    start, months, days, expected
):
    assert rules.add_months(d(start), months, days) == d(expected)


def test_six_months_and_ten_days_steps_the_months_before_the_days():
    # Months first: 2008-08-21 -> 2009-02-21, then 2009-03-03. Days first would have
    # given 2008-08-31 -> 2009-02-28.
    assert rules.add_months(d("2008-08-21"), 6, 10) == d("2009-03-03")


# ============================================================== paragraph 5: expiration


def test_without_a_termination_the_option_expires_at_the_end_of_its_term():
    result = expires(None)
    assert result.on == d("2015-07-13")
    assert result.clause == "term"
    assert "2015-07-13" in result.explanation


def test_after_a_termination_for_any_other_reason_it_expires_three_months_later():
    result = expires(Termination(d("2008-01-31"), "other"))
    assert result.on == d("2008-04-30")
    assert result.clause == "window"


def test_after_a_termination_for_disability_it_expires_one_year_later():
    result = expires(Termination(d("2008-01-31"), "disability"))
    assert result.on == d("2009-01-31")
    assert result.clause == "window"


def test_after_death_it_expires_eighteen_months_later():
    result = expires(Termination(d("2008-01-31"), "death"))
    assert result.on == d("2009-07-31")
    assert result.clause == "window"


@pytest.mark.parametrize(
    ("on", "reason"),
    [
        ("2015-05-01", "other"),
        ("2015-04-13", "other"),
        ("2014-09-01", "disability"),
        ("2014-03-01", "death"),
        ("2015-07-13", "death"),
    ],
)
def test_after_a_termination_it_expires_no_later_than_the_end_of_its_term(on, reason):
    result = expires(Termination(d(on), reason))
    assert result.on == SEED_TERM_END
    assert result.clause == "term"


def test_a_window_ending_the_day_before_the_term_end_is_not_capped():
    result = expires(Termination(d("2015-04-12"), "other"))
    assert result.on == d("2015-07-12")
    assert result.clause == "window"


def test_registration_tolling_worked_example_expires_2008_05_10():
    # Terminated 2008-01-31, normal end 2008-04-30 (90 days), suspended 2008-02-10..02-19.
    result = expires(Termination(d("2008-01-31")), suspensions=(SUSPENSION,))
    assert result.on == d("2008-05-10")
    assert result.clause == "tolling"


@pytest.mark.parametrize("reason", ["disability", "death"])
def test_registration_tolling_counts_against_the_three_month_period_only(reason):
    plain = expires(Termination(d("2008-01-31"), reason))
    tolled = expires(Termination(d("2008-01-31"), reason), suspensions=(SUSPENSION,))
    assert tolled == plain


def test_a_suspension_entirely_after_the_normal_period_does_not_extend_it():
    late = Period(d("2008-05-01"), d("2008-05-20"))
    assert expires(Termination(d("2008-01-31")), suspensions=(late,)).on == d("2008-04-30")


def test_a_suspension_ending_on_the_termination_date_does_not_extend_it():
    before = Period(d("2008-01-01"), d("2008-01-31"))
    assert expires(Termination(d("2008-01-31")), suspensions=(before,)).on == d("2008-04-30")


def test_a_suspension_starting_on_the_normal_expiration_date_extends_it_by_its_days():
    last_day = Period(d("2008-04-30"), d("2008-05-02"))
    assert expires(Termination(d("2008-01-31")), suspensions=(last_day,)).on == d("2008-05-03")


def test_a_suspension_from_before_the_termination_counts_only_its_days_after_it():
    # Suspended 2008-01-20..2008-02-04: four days (02-01..02-04) fall in the period.
    running_in = Period(d("2008-01-20"), d("2008-02-04"))
    result = expires(Termination(d("2008-01-31")), suspensions=(running_in,))
    assert result.on == d("2008-05-04")
    assert result.clause == "tolling"


def test_a_later_suspension_within_the_extension_is_also_not_counted():
    # The first suspension pushes the end to 05-10; 05-05..05-07 falls in that extension.
    extra = Period(d("2008-05-05"), d("2008-05-07"))
    result = expires(Termination(d("2008-01-31")), suspensions=(SUSPENSION, extra))
    assert result.on == d("2008-05-13")


def test_an_open_ended_suspension_is_read_as_lasting_through_today():
    # Suspended from 2008-03-01 and still suspended on 2008-03-10: ten days paused.
    open_ended = Period(d("2008-03-01"))
    result = expires(Termination(d("2008-01-31")), suspensions=(open_ended,), today=d("2008-03-10"))
    assert result.on == d("2008-05-10")


def test_while_an_open_ended_suspension_lasts_the_option_does_not_expire():
    # Still suspended on 2008-06-15, after the normal end: 29 days counted before the
    # suspension (02-01..02-29), 61 more from 06-16.
    open_ended = Period(d("2008-03-01"))
    today = d("2008-06-15")
    result = expires(Termination(d("2008-01-31")), suspensions=(open_ended,), today=today)
    assert result.on == d("2008-08-15")
    assert result.on > today


def test_registration_tolling_never_passes_the_end_of_the_term():
    result = expires(
        Termination(d("2015-04-01")),
        suspensions=(Period(d("2015-04-10"), d("2015-06-30")),),
    )
    assert result.on == SEED_TERM_END


def test_section_16b_window_touching_the_normal_period_expires_ten_days_after_its_last_day():
    window = Period(d("2008-04-01"), d("2008-05-25"))
    result = expires(Termination(d("2008-01-31")), windows=(window,))
    assert result.on == d("2008-06-04")
    assert result.clause == "section16"
    assert "10 days" in result.explanation


def test_section_16b_is_capped_at_six_months_and_ten_days_after_termination():
    window = Period(d("2008-04-01"), d("2008-09-30"))
    assert expires(Termination(d("2008-01-31")), windows=(window,)).on == d("2008-08-10")
    open_window = Period(d("2008-04-01"))
    assert expires(Termination(d("2008-01-31")), windows=(open_window,)).on == d("2008-08-10")


def test_section_16b_is_capped_at_the_end_of_the_term():
    window = Period(d("2015-05-01"), d("2015-07-20"))
    assert expires(Termination(d("2015-03-01")), windows=(window,)).on == SEED_TERM_END


def test_section_16b_window_touching_only_the_last_day_of_the_normal_period_counts():
    window = Period(d("2008-04-30"), d("2008-05-15"))
    assert expires(Termination(d("2008-01-31")), windows=(window,)).on == d("2008-05-25")


@pytest.mark.parametrize(
    ("start", "end"),
    [
        ("2008-05-01", "2008-06-30"),  # entirely after the normal period
        ("2007-12-01", "2008-01-31"),  # ends on the termination date
        ("2007-06-01", "2007-06-30"),  # long before
    ],
)
def test_section_16b_window_not_touching_the_normal_period_changes_nothing(start, end):
    result = expires(Termination(d("2008-01-31")), windows=(Period(d(start), d(end)),))
    assert result.on == d("2008-04-30")
    assert result.clause == "window"


def test_section_16b_never_shortens_the_normal_period():
    early = Period(d("2008-02-01"), d("2008-02-05"))
    result = expires(Termination(d("2008-01-31")), windows=(early,))
    assert result.on == d("2008-04-30")
    assert result.clause == "window"


def test_where_tolling_and_section_16b_both_apply_the_later_date_wins():
    t = Termination(d("2008-01-31"))
    earlier_16b = Period(d("2008-04-01"), d("2008-04-25"))  # -> 2008-05-05
    later_16b = Period(d("2008-04-20"), d("2008-05-05"))  # -> 2008-05-15
    result = expires(t, suspensions=(SUSPENSION,), windows=(earlier_16b,))
    assert (result.on, result.clause) == (d("2008-05-10"), "tolling")
    result = expires(t, suspensions=(SUSPENSION,), windows=(later_16b,))
    assert (result.on, result.clause) == (d("2008-05-15"), "section16")


def test_an_expiration_never_passes_the_end_of_the_term():
    result = expires(
        Termination(d("2015-06-01")),
        suspensions=(Period(d("2015-06-05")),),
        windows=(Period(d("2015-06-05")),),
        today=d("2015-12-31"),
    )
    assert result.on == SEED_TERM_END


def test_terms_without_registration_tolling_ignore_suspensions():
    result = expires(
        Termination(d("2008-01-31")),
        suspensions=(SUSPENSION,),
        terms=Terms().with_window("INVOLUNTARY_OTHER", tolling=False),
    )
    assert (result.on, result.clause) == (d("2008-04-30"), "window")


def test_terms_without_the_section_16b_extension_ignore_liability_windows():
    result = expires(
        Termination(d("2008-01-31")),
        windows=(Period(d("2008-04-01"), d("2008-05-25")),),
        terms=Terms().with_window("INVOLUNTARY_OTHER", section16=False),
    )
    assert (result.on, result.clause) == (d("2008-04-30"), "window")


def test_a_grant_with_other_terms_uses_them():
    t = d("2008-01-31")

    def months(reason: str, n: int) -> Terms:
        return Terms().with_window(reason, period=n, period_type=rules.MONTHS)

    assert expires(Termination(t), terms=months("other", 1)).on == d("2008-02-29")
    assert expires(Termination(t), terms=months("other", 6)).on == d("2008-07-31")
    assert expires(Termination(t, "disability"), terms=months("disability", 6)).on == d(
        "2008-07-31"
    )
    assert expires(Termination(t, "death"), terms=months("death", 12)).on == d("2009-01-31")
    other_16b = Terms(
        section16_days_after_liability=20, section16_cap_months=4, section16_cap_days=0
    )
    window = Period(d("2008-04-01"), d("2008-05-25"))
    assert expires(Termination(t), windows=(window,), terms=other_16b).on == d("2008-05-31")
    window = Period(d("2008-04-01"), d("2008-04-20"))
    assert expires(Termination(t), windows=(window,), terms=other_16b).on == d("2008-05-10")


def test_the_option_may_be_exercised_on_its_expiration_date_but_not_after():
    result = expires(Termination(d("2008-01-31")))
    rules.check_not_expired(d("2008-04-30"), result)
    with pytest.raises(ValidationError) as exc:
        rules.check_not_expired(d("2008-05-01"), result)
    assert exc.value.code == "expired"
    message = exc.value.messages[0]
    assert "2008-04-30" in message
    assert "2008-05-01" in message
    assert "window" in message


# ============================================================== paragraph 6: deemed receipt


CALENDAR = BusinessCalendar(holidays=frozenset({d("2026-07-03"), d("2026-11-26")}))


@pytest.mark.parametrize(
    ("received", "deemed"),
    [
        ("2026-03-02 16:59:59", "2026-03-02"),  # Monday, one second before closing
        ("2026-03-02 17:00:00", "2026-03-03"),  # closing time belongs to the next day
        ("2026-03-02 09:00:00", "2026-03-02"),
        ("2026-03-02 08:00:00", "2026-03-02"),  # before opening: the start of that day
        ("2026-03-02 00:00:00", "2026-03-02"),
        ("2026-03-02 23:59:59", "2026-03-03"),
        ("2026-03-06 16:30:00", "2026-03-06"),  # Friday afternoon
        ("2026-03-06 18:00:00", "2026-03-09"),  # Friday evening -> Monday
        ("2026-03-07 10:00:00", "2026-03-09"),  # Saturday -> Monday
        ("2026-03-08 10:00:00", "2026-03-09"),  # Sunday -> Monday
        ("2026-07-03 10:00:00", "2026-07-06"),  # holiday (Friday) -> Monday
        ("2026-07-02 17:30:00", "2026-07-06"),  # evening before a holiday -> Monday
        ("2026-11-26 10:00:00", "2026-11-27"),  # Thanksgiving (Thursday) -> Friday
    ],
)
def test_a_notice_outside_business_hours_is_deemed_received_the_next_business_day(received, deemed):
    assert rules.deemed_received(chicago(received), CALENDAR) == d(deemed)


@pytest.mark.parametrize(
    ("received", "deemed"),
    [
        ("2026-03-02", "2026-03-02"),  # a business day
        ("2026-03-07", "2026-03-09"),  # Saturday -> Monday
        ("2026-03-08", "2026-03-09"),  # Sunday -> Monday
        ("2026-07-03", "2026-07-06"),  # holiday -> next business day
    ],
)
def test_a_notice_recorded_with_a_date_alone_was_received_in_business_hours_that_day(
    received, deemed
):
    assert rules.deemed_received(d(received), CALENDAR) == d(deemed)


def test_a_time_without_a_time_zone_is_refused_rather_than_guessed():
    with pytest.raises(ValidationError) as exc:
        rules.deemed_received(dt.datetime(2026, 3, 2, 10, 15), CALENDAR)
    assert exc.value.code == "naive_datetime"
    assert "time zone" in exc.value.messages[0]


def test_a_receipt_that_is_not_a_date_is_refused():
    with pytest.raises(ValidationError) as exc:
        rules.deemed_received("2026-03-02", CALENDAR)
    assert exc.value.code == "bad_date"


@pytest.mark.parametrize(
    ("instant", "deemed"),
    [
        ("2026-03-02 22:30", "2026-03-02"),  # 16:30 CST Monday
        ("2026-03-02 23:30", "2026-03-03"),  # 17:30 CST Monday
        ("2026-03-02 14:59", "2026-03-02"),  # 08:59 CST Monday
        ("2026-03-03 04:30", "2026-03-03"),  # 22:30 CST Monday -> Tuesday
        ("2026-03-07 02:30", "2026-03-09"),  # 20:30 CST Friday (Saturday in UTC) -> Monday
        ("2026-03-09 03:00", "2026-03-09"),  # 22:00 CDT Sunday (Monday in UTC) -> Monday
    ],
)
def test_an_aware_utc_time_is_read_in_the_companys_time_zone(instant, deemed):
    assert rules.deemed_received(utc(instant), CALENDAR) == d(deemed)


@pytest.mark.parametrize(
    ("instant", "local", "deemed"),
    [
        # March 2026: clocks go forward on Sunday 03-08 (CST, UTC-6 -> CDT, UTC-5).
        ("2026-03-06 22:30", "16:30 CST Friday", "2026-03-06"),
        ("2026-03-08 07:30", "01:30 CST Sunday", "2026-03-09"),
        ("2026-03-08 15:00", "10:00 CDT Sunday", "2026-03-09"),
        ("2026-03-09 21:30", "16:30 CDT Monday", "2026-03-09"),
        ("2026-03-09 22:30", "17:30 CDT Monday", "2026-03-10"),
        ("2026-03-09 14:00", "09:00 CDT Monday", "2026-03-09"),
        # November 2026: clocks go back on Sunday 11-01 (CDT, UTC-5 -> CST, UTC-6).
        ("2026-10-30 21:30", "16:30 CDT Friday", "2026-10-30"),
        ("2026-10-30 22:30", "17:30 CDT Friday", "2026-11-02"),
        ("2026-11-01 06:30", "01:30 CDT Sunday (first)", "2026-11-02"),
        ("2026-11-01 07:30", "01:30 CST Sunday (second)", "2026-11-02"),
        ("2026-11-02 22:30", "16:30 CST Monday", "2026-11-02"),
        ("2026-11-02 23:30", "17:30 CST Monday", "2026-11-03"),
    ],
)
def test_business_hours_follow_daylight_saving_time(instant, local, deemed):
    moment = utc(instant)
    hh_mm, zone, _ = local.split(" ", 2)
    assert moment.astimezone(CHICAGO).strftime("%H:%M %Z") == f"{hh_mm} {zone}"
    assert rules.deemed_received(moment, CALENDAR) == d(deemed)


def test_business_hours_are_the_companys_own():
    # 16:30 in Chicago is 17:30 in New York: after closing there.
    new_york = BusinessCalendar(time_zone="America/New_York")
    assert rules.deemed_received(chicago("2026-03-02 16:30"), CALENDAR) == d("2026-03-02")
    assert rules.deemed_received(chicago("2026-03-02 16:30"), new_york) == d("2026-03-03")
    saturday_office = BusinessCalendar(workdays=frozenset({1, 2, 3, 4, 5, 6}))
    assert rules.deemed_received(chicago("2026-03-07 10:00"), saturday_office) == d("2026-03-07")


def test_a_company_without_business_days_is_refused():
    with pytest.raises(ValidationError) as exc:
        rules.deemed_received(d("2026-03-02"), BusinessCalendar(workdays=frozenset()))
    assert exc.value.code == "no_business_days"


# ============================================================== paragraph 2: aggregate price


def test_aggregate_price_is_rounded_half_up_to_the_cent_only_at_the_end():
    # 1,001 x 2.9950 = 2,997.995 -> 2,998.00; rounding the price first: 3.00 x 1,001.
    assert rules.aggregate_price(1001, Decimal("2.9950")) == Decimal("2998.00")
    assert (Decimal("2.9950").quantize(Decimal("0.01")) * 1001) == Decimal("3003.00")
    # 1,001 x 2.9850 = 2,987.985 -> 2,987.99 half-up (2,987.98 half-even); price first: 2,992.99.
    assert rules.aggregate_price(1001, Decimal("2.9850")) == Decimal("2987.99")


def test_aggregate_price_of_the_seed_grant_is_exact():
    assert rules.aggregate_price(1000, Decimal("2.99")) == Decimal("2990.00")
    assert rules.aggregate_price(SEED_TOTAL, Decimal("2.99")) == Decimal("2990000.00")
    assert rules.aggregate_price(56_250, Decimal("2.99")) == Decimal("168187.50")


def test_aggregate_price_is_a_decimal_in_cents_never_a_float():
    result = rules.aggregate_price(1001, Decimal("2.9850"))
    assert type(result) is Decimal
    assert result.as_tuple().exponent == -2


def test_taxable_spread_is_fair_market_value_minus_price_times_shares():
    # (5.125 - 2.99) x 1,001 = 2,137.135 -> 2,137.14
    assert rules.taxable_spread(1001, Decimal("2.99"), Decimal("5.125")) == Decimal("2137.14")


@pytest.mark.parametrize("fmv", ["2.99", "2.50", "0.01"])
def test_taxable_spread_is_never_negative(fmv):
    assert rules.taxable_spread(1000, Decimal("2.99"), Decimal(fmv)) == Decimal("0.00")


def test_withholding_applies_each_rate_to_the_unrounded_spread_and_rounds_once():
    # Spread 1,001 x (3.015 - 2.99) = 25.025. Half of it is 12.5125 -> 12.51; rounding the
    # spread first (25.03) would give 12.52.
    assert rules.withholding_estimate(
        1001, Decimal("2.99"), Decimal("3.015"), [("half", Decimal("0.5"))]
    ) == [("half", Decimal("12.51"))]


def test_withholding_estimate_per_rate():
    estimate = rules.withholding_estimate(
        1001,
        Decimal("2.99"),
        Decimal("5.125"),
        [("Federal", Decimal("0.22")), ("Medicare", Decimal("0.0145"))],
    )
    # 2,137.135 x 0.22 = 470.1697 -> 470.17; x 0.0145 = 30.9884575 -> 30.99
    assert estimate == [("Federal", Decimal("470.17")), ("Medicare", Decimal("30.99"))]
    assert all(type(amount) is Decimal for _, amount in estimate)


def test_no_withholding_on_an_option_under_water():
    estimate = rules.withholding_estimate(
        1000, Decimal("2.99"), Decimal("2.00"), [("Federal", Decimal("0.22"))]
    )
    assert estimate == [("Federal", Decimal("0.00"))]


# ============================================================== paragraph 7: who may exercise


@pytest.mark.parametrize(
    ("optionee", "successor", "deceased", "code"),
    [
        (True, False, False, None),
        (False, False, False, "not_optionee"),
        (False, True, False, "not_optionee"),  # no successor while the optionee lives
        (False, True, True, None),
        (True, False, True, "not_successor"),  # the late optionee's own login
        (False, False, True, "not_successor"),
    ],
)
def test_during_life_only_the_optionee_exercises_after_death_only_a_successor(
    optionee, successor, deceased, code
):
    def check():
        rules.check_exerciser(
            acting_is_optionee=optionee,
            acting_is_successor=successor,
            deceased=deceased,
        )

    if code is None:
        check()
    else:
        with pytest.raises(ValidationError) as exc:
            check()
        assert exc.value.code == code


# ============================================================== paragraph 9: notices


def test_a_notice_takes_effect_on_receipt():
    assert rules.notice_effective_date(received_on=d("2008-03-03")) == d("2008-03-03")


def test_a_mailed_notice_takes_effect_five_days_after_deposit():
    assert rules.notice_effective_date(received_on=None, mailed_on=d("2008-02-27")) == d(
        "2008-03-03"
    )


def test_a_mailed_and_received_notice_takes_effect_whichever_comes_first():
    assert rules.notice_effective_date(received_on=d("2008-02-29"), mailed_on=d("2008-02-27")) == d(
        "2008-02-29"
    )
    assert rules.notice_effective_date(received_on=d("2008-03-10"), mailed_on=d("2008-02-27")) == d(
        "2008-03-03"
    )


def test_a_notice_neither_received_nor_mailed_has_no_effective_date():
    assert rules.notice_effective_date(received_on=None, mailed_on=None) is None


def test_the_mail_delay_is_a_term():
    assert rules.notice_effective_date(
        received_on=None, mailed_on=d("2008-02-27"), mail_notice_days=3
    ) == d("2008-03-01")


# ============================================================== paragraph 1a: the schedule


def test_the_seed_schedule_is_accepted():
    rules.check_schedule(grant_date=SEED_GRANT_DATE, total_shares=SEED_TOTAL, installments=SEED)


def test_a_schedule_that_does_not_add_up_to_the_grant_is_refused():
    short = [*SEED[:-1], Installment(d("2009-07-13"), 56_249)]
    with pytest.raises(ValidationError) as exc:
        rules.check_schedule(
            grant_date=SEED_GRANT_DATE, total_shares=SEED_TOTAL, installments=short
        )
    assert exc.value.code == "schedule_total_mismatch"
    assert "999,999" in exc.value.messages[0]
    assert "1,000,000" in exc.value.messages[0]


def test_an_installment_before_the_grant_date_is_refused():
    early = [Installment(d("2005-07-12"), 100_000), *SEED[1:]]
    with pytest.raises(ValidationError) as exc:
        rules.check_schedule(
            grant_date=SEED_GRANT_DATE, total_shares=SEED_TOTAL, installments=early
        )
    assert exc.value.code == "installment_before_grant"
    assert "2005-07-12" in exc.value.messages[0]
    assert "2005-07-13" in exc.value.messages[0]


def test_two_installments_on_one_date_are_refused():
    doubled = [*SEED[:-1], Installment(d("2009-04-13"), 56_250)]
    with pytest.raises(ValidationError) as exc:
        rules.check_schedule(
            grant_date=SEED_GRANT_DATE, total_shares=SEED_TOTAL, installments=doubled
        )
    assert exc.value.code == "installment_duplicate_date"
    assert "2009-04-13" in exc.value.messages[0]


@pytest.mark.parametrize("shares", [0, -56_250])
def test_an_installment_of_no_shares_is_refused(shares):
    bad = [*SEED, Installment(d("2010-07-13"), shares)]
    with pytest.raises(ValidationError) as exc:
        rules.check_schedule(grant_date=SEED_GRANT_DATE, total_shares=SEED_TOTAL, installments=bad)
    assert exc.value.code == "installment_not_positive"
    assert "2010-07-13" in exc.value.messages[0]


def test_an_empty_schedule_or_a_grant_of_no_shares_is_refused():
    with pytest.raises(ValidationError) as exc:
        rules.check_schedule(grant_date=SEED_GRANT_DATE, total_shares=SEED_TOTAL, installments=[])
    assert exc.value.code == "no_installments"
    with pytest.raises(ValidationError) as exc:
        rules.check_schedule(grant_date=SEED_GRANT_DATE, total_shares=0, installments=SEED)
    assert exc.value.code == "no_shares"


# ============================================================== paragraph 10: plan limits


def plan_check(**overrides) -> None:
    arguments = {
        "shares": SEED_TOTAL,
        "grant_date": SEED_GRANT_DATE,
        "term_end": SEED_TERM_END,
        "reserve_available": 20_000_000,
        "max_term_years": 10,
    }
    rules.check_plan_limits(**{**arguments, **overrides})


def test_the_seed_grant_fits_its_plan():
    plan_check()
    plan_check(reserve_available=SEED_TOTAL)


def test_a_grant_larger_than_the_plans_remaining_reserve_is_refused():
    with pytest.raises(ValidationError) as exc:
        plan_check(reserve_available=999_999)
    assert exc.value.code == "reserve_exceeded"
    assert "999,999" in exc.value.messages[0]
    assert "1,000,000" in exc.value.messages[0]


@pytest.mark.parametrize("term_end", ["2005-07-13", "2005-07-12"])
def test_a_term_that_does_not_end_after_the_grant_date_is_refused(term_end):
    with pytest.raises(ValidationError) as exc:
        plan_check(term_end=d(term_end))
    assert exc.value.code == "term_before_grant"
    assert "2005-07-13" in exc.value.messages[0]


def test_a_term_longer_than_the_plans_maximum_is_refused():
    with pytest.raises(ValidationError) as exc:
        plan_check(term_end=d("2015-07-14"))
    assert exc.value.code == "term_too_long"
    assert "10 years" in exc.value.messages[0]
    assert "2015-07-13" in exc.value.messages[0]
    with pytest.raises(ValidationError) as exc:
        plan_check(term_end=d("2012-07-14"), max_term_years=7)
    assert "2012-07-13" in exc.value.messages[0]


def test_the_maximum_term_from_a_leap_day_ends_on_the_last_day_of_february():
    plan_check(grant_date=d("2008-02-29"), term_end=d("2018-02-28"))
    with pytest.raises(ValidationError) as exc:
        plan_check(grant_date=d("2008-02-29"), term_end=d("2018-03-01"))
    assert exc.value.code == "term_too_long"


# --------------------------------------------------------------------------- expiry warnings

OFFSETS = (60, 30, 14, 7, 1)


@pytest.mark.parametrize(
    ("on", "due"),
    [
        ("2015-05-13", None),  # 61 days before
        ("2015-05-14", 60),
        ("2015-06-12", 60),  # 31 days left
        ("2015-06-13", 30),
        ("2015-06-20", 30),  # 23 days left: still the 30-day warning
        ("2015-07-12", 1),
        ("2015-07-13", 1),  # the last day itself
        ("2015-07-14", None),  # expired
    ],
)
def test_the_warning_due_is_the_offset_reached_most_recently(on, due):
    assert rules.due_expiry_warning(d("2015-07-13"), d(on), OFFSETS) == due


@pytest.mark.parametrize(
    ("on", "next_on"),
    [
        ("2015-01-01", "2015-05-14"),
        ("2015-05-14", "2015-06-13"),
        ("2015-06-20", "2015-06-29"),
        ("2015-07-12", None),
    ],
)
def test_the_next_warning_day(on, next_on):
    expected = d(next_on) if next_on else None
    assert rules.next_expiry_warning_on(d("2015-07-13"), d(on), OFFSETS) == expected


def test_the_unexercised_shares_are_those_neither_exercised_nor_forfeited():
    # The seed grant of 1,000,000 shares; 300,000 exercised, 250,000 forfeited at termination.
    assert (
        rules.unexercised_shares(shares=1_000_000, exercised=300_000, forfeited=250_000) == 450_000
    )
    # A late termination can forfeit shares already exercised: none is left, not fewer.
    assert rules.unexercised_shares(shares=1_000_000, exercised=800_000, forfeited=250_000) == 0


def test_shares_return_to_the_plan_when_forfeited_and_when_the_option_expires():
    # The seed grant of 1,000,000 shares; 300,000 exercised, 250,000 forfeited at termination.
    mine = {"shares": 1_000_000, "exercised": 300_000, "forfeited": 250_000}
    assert rules.returned_shares(**mine, expired=False) == 250_000  # 5c: at termination
    assert rules.returned_shares(**mine, expired=True) == 700_000  # 10: the rest at expiry
    # Exercises recorded before a late termination can exceed what ever vests: nothing of
    # the vested part is left to return.
    late = {"shares": 1_000_000, "exercised": 800_000, "forfeited": 250_000}
    assert rules.returned_shares(**late, expired=True) == 250_000


def test_an_option_is_fully_exercised_when_every_share_that_will_vest_is():
    assert rules.fully_exercised(shares=1_000_000, exercised=750_000, forfeited=250_000)
    assert not rules.fully_exercised(shares=1_000_000, exercised=749_900, forfeited=250_000)
    # Nothing exercised is never "fully exercised", even when everything was forfeited.
    assert not rules.fully_exercised(shares=1_000_000, exercised=0, forfeited=1_000_000)


def test_service_cannot_end_before_a_grant_made_during_it():
    made = [("A-1", dt.date(2005, 7, 13)), ("A-2", dt.date(2006, 1, 3))]
    rules.check_service_end(dt.date(2006, 1, 3), made)  # the day of the last grant
    with pytest.raises(ValidationError) as exc:
        rules.check_service_end(dt.date(2006, 1, 2), made)
    assert exc.value.code == "termination_before_grant"
    assert exc.value.messages == [
        "The termination date 2006-01-02 is before grant A-2 was made on 2006-01-03; "
        "check the date."
    ]
    rules.check_service_end(dt.date(2001, 1, 1), [])  # no grant made: any day
