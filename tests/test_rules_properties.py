"""Properties of the rules engine that must hold for every grant, not just the seed.

Random schedules, terminations, registration suspensions, Section 16(b) liability
windows, exercise sequences and notice times. Pure: no database.

Every strategy is built once, at import: dates are drawn as day offsets from fixed
strategies and placed relative to the case (building strategies inside a composite on
each draw makes Hypothesis re-validate them every time, which costs seconds).
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from grants import rules
from grants.rules import BusinessCalendar, Installment, Period, Termination, Terms

PROPERTY = settings(max_examples=200, deadline=None, database=None)

EARLIEST = dt.date(2000, 1, 1)
LATEST = dt.date(2030, 12, 31)
DAY = dt.timedelta(days=1)


def days(n: int) -> dt.timedelta:
    return dt.timedelta(days=n)


def within(offset: int, start: dt.date, end: dt.date) -> dt.date:
    """A day between ``start`` and ``end`` (both included), picked by ``offset``."""
    return start + days(offset % ((end - start).days + 1))


# --------------------------------------------------------------------------- strategies

OFFSETS = st.integers(0, 100_000)
any_day = st.integers(0, (LATEST - EARLIEST).days).map(lambda n: EARLIEST + days(n))
grant_dates = st.integers(0, (dt.date(2015, 12, 31) - EARLIEST).days).map(
    lambda n: EARLIEST + days(n)
)
term_years = st.integers(1, 10)
installment_shares = st.one_of(st.integers(1, 1500), st.integers(1, 250_000))
period_lengths = st.none() | st.integers(0, 200)  # None: open-ended


@st.composite
def schedules(draw) -> tuple[dt.date, dt.date, list[Installment]]:
    """A grant date, a term end and a valid schedule (distinct dates, none before the grant)."""
    grant_date = draw(grant_dates)
    term_end = rules.add_months(grant_date, 12 * draw(term_years))
    vest_dates = sorted(
        {within(n, grant_date, term_end) for n in draw(st.lists(OFFSETS, min_size=1, max_size=8))}
    )
    return (
        grant_date,
        term_end,
        [Installment(day, draw(installment_shares)) for day in vest_dates],
    )


def period_at(offset: int, length: int | None, start: dt.date, end: dt.date) -> Period:
    """A period starting between ``start`` and ``end``; ``length`` None is open-ended."""
    first = within(offset, start, end)
    return Period(first, None if length is None else first + days(length))


period_draws = st.tuples(OFFSETS, period_lengths)
any_period = period_draws.map(lambda p: period_at(*p, EARLIEST, LATEST))

window_strategy = st.tuples(
    st.sampled_from(rules.PERIOD_TYPES),
    st.integers(0, 36),
    st.sampled_from((rules.STOP, rules.ACCELERATE_ALL)),
    st.booleans(),
    st.booleans(),
)


@st.composite
def terms_strategy(draw) -> Terms:
    """An agreement form of any shape: a window of any period and unit for each reason,
    tolled, extended by Section 16(b) or accelerating as it happens."""
    windows = []
    for reason in rules.TERMINATION_REASONS:
        unit, period, vesting, tolling, section16 = draw(window_strategy)
        period = period * 10 if unit == rules.DAYS else period % (4 if unit == rules.YEARS else 37)
        windows.append(rules.Window(reason, period, unit, vesting, tolling, section16))
    return Terms(
        windows=tuple(windows),
        section16_days_after_liability=draw(st.integers(0, 30)),
        section16_cap_months=draw(st.integers(0, 12)),
    )


def around(termination: dt.date) -> tuple[dt.date, dt.date]:
    """Where suspensions and windows of interest fall: from before to well after it."""
    return termination - days(120), termination + days(500)


@st.composite
def expiration_cases(draw) -> dict:
    """Keyword arguments for ``rules.expiration`` with a termination inside the term."""
    grant_date = draw(grant_dates)
    term_end = rules.add_months(grant_date, 12 * draw(term_years))
    termination = Termination(
        within(draw(OFFSETS), grant_date, term_end),
        draw(st.sampled_from(rules.TERMINATION_REASONS)),
    )
    start, end = around(termination.on)
    return {
        "term_end": term_end,
        "terms": draw(terms_strategy()),
        "termination": termination,
        "suspensions": [
            period_at(*p, start, end) for p in draw(st.lists(period_draws, max_size=3))
        ],
        "liability_windows": [
            period_at(*p, start, end) for p in draw(st.lists(period_draws, max_size=3))
        ],
        "today": within(draw(OFFSETS), start, end),
    }


def normal_end_for(terms: Terms, termination: Termination) -> dt.date:
    return terms.window(termination.reason).end(termination.on)


# --------------------------------------------------------------------------- paragraph 1


@PROPERTY
@given(
    schedule=schedules(),
    first=any_day,
    second=any_day,
    service_end=st.none() | any_day,
)
def test_vested_never_exceeds_the_grant_and_never_decreases_with_time(
    schedule, first, second, service_end
):
    _, _, installments = schedule
    total = sum(i.shares for i in installments)
    earlier, later = sorted((first, second))
    vested_earlier = rules.vested_shares(installments, earlier, service_end)
    vested_later = rules.vested_shares(installments, later, service_end)
    assert 0 <= vested_earlier <= vested_later <= total
    # What vests plus what is forfeited at termination is the whole grant.
    if service_end is not None:
        vested_in_the_end = rules.vested_shares(installments, LATEST, service_end)
        assert vested_in_the_end + rules.forfeited_shares(installments, service_end) == total


@PROPERTY
@given(
    schedule=schedules(),
    on=any_day,
    exercised=st.integers(0, 2_500_000),
    service_end=st.none() | any_day,
    expires_on=any_day,
    suspensions=st.lists(any_period, max_size=3),
)
def test_exercisable_is_never_negative_and_never_exceeds_vested(
    schedule, on, exercised, service_end, expires_on, suspensions
):
    _, _, installments = schedule
    exercisable = rules.exercisable_shares(
        installments=installments,
        on=on,
        exercised=exercised,
        service_end=service_end,
        expires_on=expires_on,
        suspensions=suspensions,
    )
    vested = rules.vested_shares(installments, on, service_end)
    assert 0 <= exercisable <= vested
    assert exercisable <= max(0, vested - exercised)
    if on > expires_on or rules.is_suspended(on, suspensions):
        assert exercisable == 0


# --------------------------------------------------------------------------- paragraph 3


# Which request each step makes (see ``shares`` below); the small-installment request
# (4) is weighted up, as it takes several of them in a row to reach the interesting states.
REQUEST_KINDS = st.sampled_from([0, 1, 2, 3, 4, 4, 4, 5, 6])
SMALL_AFTER_LARGE = (
    dt.date(2005, 1, 1),
    dt.date(2015, 1, 1),
    [
        Installment(dt.date(2005, 1, 1), 10_000),
        Installment(dt.date(2005, 1, 11), 500),
        Installment(dt.date(2006, 2, 5), 5_000),
    ],
)


@PROPERTY
@given(
    schedule=schedules(),
    minimum=st.one_of(st.sampled_from([100, 500, 1000]), st.integers(1, 2000)),
    terminated_after=st.none() | st.integers(0, 4000),
    steps=st.lists(st.tuples(st.integers(0, 400), REQUEST_KINDS, OFFSETS), min_size=1, max_size=25),
)
# Regression: a 500-share installment behind a larger one once excused any number of
# 500-share exercises, each charged to the larger installment; now each is charged to the
# small installment itself, once.
@example(schedule=SMALL_AFTER_LARGE, minimum=1000, terminated_after=None, steps=[(20, 4, 0)] * 3)
def test_accepted_exercises_never_exercise_more_than_is_vested(
    schedule, minimum, terminated_after, steps
):
    grant_date, term_end, installments = schedule
    service_end = None if terminated_after is None else grant_date + days(terminated_after)
    small_installments = sum(1 for i in installments if i.shares < minimum)
    on, exercised, below_minimum, charged = grant_date, 0, 0, {}
    for days_later, kind, pick in steps:
        on += days(days_later)
        exercisable = rules.exercisable_shares(
            installments=installments,
            on=on,
            exercised=exercised,
            service_end=service_end,
            expires_on=term_end,
        )
        ledger = rules.unexercised_by_installment(installments, exercised, charged)
        remainders = [r for _, r in ledger]
        small_remainders = [r for i, r in ledger if i.shares < minimum and r > 0] or remainders
        shares = [
            exercisable,  # everything (a final exercise, when nothing more can come)
            minimum,
            minimum - 1,
            remainders[pick % len(remainders)],  # an installment's remainder
            small_remainders[pick % len(small_remainders)],  # exception (a), or a try at it
            pick % (exercisable + 11) - 5,  # anything, including 0 and negatives
            1 + pick % minimum,  # anything below the minimum
        ][kind]
        try:
            charged_to = rules.check_minimum_exercise(
                shares=shares,
                installments=installments,
                on=on,
                exercised=exercised,
                exercisable=exercisable,
                service_end=service_end,
                minimum=minimum,
                charged=charged,
            )
        except rules.ValidationError:
            continue
        assert 0 < shares <= exercisable
        exercised += shares
        if charged_to is not None:
            assert charged_to not in charged  # the exception once per installment
            charged[charged_to] = shares
        below_minimum += shares < minimum
        assert exercised <= rules.vested_shares(installments, on, service_end)
    # The minimum yields only to each small installment taken whole, and to one final
    # exercise.
    assert below_minimum <= small_installments + 1


# --------------------------------------------------------------------------- paragraph 5


@PROPERTY
@given(case=expiration_cases(), terminated=st.booleans())
def test_an_expiration_never_passes_the_end_of_the_term(case, terminated):
    if not terminated:
        case["termination"] = None
    assert rules.expiration(**case).on <= case["term_end"]


@PROPERTY
@given(case=expiration_cases())
def test_an_expiration_is_never_before_the_normal_period_for_its_reason(case):
    termination, terms = case["termination"], case["terms"]
    normal_end = normal_end_for(terms, termination)
    result = rules.expiration(**case)
    assert result.on >= min(normal_end, case["term_end"])


@PROPERTY
@given(case=expiration_cases(), extra=period_draws)
def test_adding_a_suspension_never_makes_the_expiration_earlier(case, extra):
    before = rules.expiration(**case).on
    suspension = period_at(*extra, *around(case["termination"].on))
    case["suspensions"] = [*case["suspensions"], suspension]
    assert rules.expiration(**case).on >= before


@PROPERTY
@given(case=expiration_cases(), extra=period_draws)
def test_adding_a_liability_window_never_makes_the_expiration_earlier(case, extra):
    before = rules.expiration(**case).on
    window = period_at(*extra, *around(case["termination"].on))
    case["liability_windows"] = [*case["liability_windows"], window]
    assert rules.expiration(**case).on >= before


@PROPERTY
@given(case=expiration_cases(), start_pick=OFFSETS, today_after=st.integers(0, 800))
def test_while_an_open_ended_suspension_lasts_the_option_is_not_expired(
    case, start_pick, today_after
):
    """DOMAIN 5b(iii): while it lasts, the clock is paused (unless the term itself ends)."""
    t = case["termination"].on
    terms = case["terms"].with_window(rules.REASON_OTHER, tolling=True)
    normal_end = terms.window(rules.REASON_OTHER).end(t)
    assume(normal_end > t)  # a window of 0 days leaves no day to pause
    start = within(start_pick, t + DAY, normal_end)
    today = start + days(today_after)
    result = rules.expiration(
        **{
            **case,
            "termination": Termination(t, rules.REASON_OTHER),
            "terms": terms,
            "suspensions": [*case["suspensions"], Period(start)],
            "today": today,
        }
    )
    assert result.on > today or result.on == case["term_end"]


# --------------------------------------------------------------------------- paragraph 6

ZONES = [ZoneInfo(name) for name in ("UTC", "America/Chicago", "Asia/Tokyo", "Pacific/Apia")]

calendars = st.builds(
    BusinessCalendar,
    time_zone=st.sampled_from(["America/Chicago", "America/New_York", "Europe/Paris"]),
    opens=st.integers(0, 12 * 60).map(lambda m: dt.time(m // 60, m % 60)),
    closes=st.integers(12 * 60 + 1, 24 * 60 - 1).map(lambda m: dt.time(m // 60, m % 60)),
    workdays=st.frozensets(st.integers(1, 7), min_size=1),
    holidays=st.frozensets(
        st.integers(0, 4100).map(lambda n: dt.date(2019, 12, 1) + days(n)), max_size=20
    ),
)
instants = st.tuples(
    st.integers(0, int((dt.datetime(2031, 1, 1) - dt.datetime(2020, 1, 1)).total_seconds())),
    st.sampled_from(ZONES),
).map(
    lambda p: (dt.datetime(2020, 1, 1, tzinfo=dt.UTC) + dt.timedelta(seconds=p[0])).astimezone(p[1])
)


@st.composite
def notices(draw) -> tuple[dt.datetime, BusinessCalendar]:
    """A calendar and an instant: anywhere, or a second either side of opening or closing."""
    calendar = draw(calendars)
    moment = draw(instants)
    if draw(st.booleans()):
        boundary = draw(st.sampled_from([calendar.opens, calendar.closes]))
        local = dt.datetime.combine(moment.date(), boundary, tzinfo=calendar.zone)
        moment = (local + dt.timedelta(seconds=draw(st.integers(-1, 1)))).astimezone(moment.tzinfo)
    return moment, calendar


@PROPERTY
@given(notice=notices())
def test_a_notice_is_deemed_received_on_a_business_day_on_or_after_its_local_date(notice):
    moment, calendar = notice
    local = moment.astimezone(calendar.zone)
    deemed = rules.deemed_received(moment, calendar)
    assert calendar.is_business_day(deemed)
    assert deemed >= local.date()
    within_hours = calendar.is_business_day(local.date()) and local.time() < calendar.closes
    assert (deemed == local.date()) == within_hours
    # Nothing earlier than the deemed day, after the local date, was a business day.
    day = local.date() + DAY
    while day < deemed:
        assert not calendar.is_business_day(day)
        day += DAY


@PROPERTY
@given(day=st.integers(0, 4000).map(lambda n: dt.date(2020, 1, 1) + days(n)), calendar=calendars)
def test_a_notice_with_a_date_alone_is_deemed_received_that_day_or_the_next_business_day(
    day, calendar
):
    deemed = rules.deemed_received(day, calendar)
    assert calendar.is_business_day(deemed)
    assert deemed >= day
    assert (deemed == day) == calendar.is_business_day(day)


@PROPERTY
@given(
    day=st.dates(min_value=dt.date(1900, 3, 1), max_value=dt.date(2899, 12, 31)),
    months=st.integers(min_value=-600, max_value=1200),
    days=st.integers(min_value=0, max_value=40),
)
@example(day=dt.date(2008, 1, 31), months=1, days=0)  # to 2008-02-29
@example(day=dt.date(2007, 8, 31), months=6, days=10)
def test_month_arithmetic_agrees_with_dateutil(day, months, days):
    """``add_months`` does its own arithmetic (it runs for every installment of a million
    grants); it must agree with dateutil's relativedelta, the reference it replaced."""
    from dateutil.relativedelta import relativedelta

    expected = day + relativedelta(months=months) + dt.timedelta(days=days)
    assert rules.add_months(day, months, days) == expected
