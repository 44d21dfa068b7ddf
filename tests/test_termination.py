"""Expiration after the end of service, through the model API (paragraph 5).

Each verb that can move the expiration date (terminate, reverse, suspend_registration,
end_on, record_section16_liability) must store the recomputed ``expires_on`` and
``expiration_clause`` on every grant it affects, and leave an audit history.
"""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import ValidationError

from grants import rules
from grants.models import Grant, Optionee, Termination
from tests.conftest import d
from tests.factories import GrantFactory, OptioneeFactory, PlanFactory, changes_nothing

CHICAGO = ZoneInfo("America/Chicago")


def noon(text: str) -> dt.datetime:
    """Noon in Austin on that day: the moment to travel to when 'today' matters."""
    return dt.datetime.fromisoformat(text).replace(hour=12, tzinfo=CHICAGO)


def assert_expires(grant: Grant, on: str, clause: str) -> None:
    """The live answer, a freshly loaded grant's answer and the stored fields all agree."""
    assert grant.expiration_date() == d(on)
    assert grant.expiration().clause == clause
    fresh = Grant.objects.get(number=grant.number)
    assert fresh.expiration_date() == d(on)
    assert (fresh.expires_on, fresh.expiration_clause) == (d(on), clause)
    grant.refresh_from_db()


def test_without_termination_the_term_end(grant):
    assert_expires(grant, "2015-07-13", "term")


@pytest.mark.parametrize(
    ("on", "reason", "expires", "clause"),
    [
        ("2008-01-31", "other", "2008-04-30", "window"),  # no April 31st: the last day of April
        ("2008-11-30", "other", "2009-02-28", "window"),
        ("2007-05-01", "other", "2007-08-01", "window"),
        ("2015-04-12", "other", "2015-07-12", "window"),
        ("2015-04-13", "other", "2015-07-13", "term"),  # the window ends with the term
        ("2015-05-01", "other", "2015-07-13", "term"),  # capped at the term's end
        ("2008-01-31", "disability", "2009-01-31", "window"),
        ("2008-02-29", "disability", "2009-02-28", "window"),
        ("2015-01-10", "disability", "2015-07-13", "term"),
        ("2008-01-31", "death", "2009-07-31", "window"),
        ("2008-08-31", "death", "2010-02-28", "window"),
        ("2014-03-01", "death", "2015-07-13", "term"),
    ],
)
def test_each_termination_reason(grant, optionee, on, reason, expires, clause):
    termination = optionee.terminate(d(on), reason)
    assert termination.on == d(on)
    assert termination.reason == rules.termination_reason(reason)  # as OCF names it
    assert_expires(grant, expires, clause)


def test_death_records_the_date_of_death(grant, optionee):
    termination = optionee.terminate(d("2008-01-31"), "death")
    assert termination.date_of_death == d("2008-01-31")
    optionee.refresh_from_db()
    assert optionee.date_of_death == d("2008-01-31")


def test_every_grant_of_the_optionee_is_recomputed(grant, optionee):
    second = GrantFactory(plan=grant.plan, optionee=optionee, grant_date=d("2006-01-03"))
    optionee.terminate(d("2008-01-31"), "other")
    assert_expires(grant, "2008-04-30", "window")
    assert_expires(second, "2008-04-30", "window")


def test_other_optionees_grants_are_untouched(grant, optionee, company):
    colleague = OptioneeFactory(company=company)
    theirs = GrantFactory(plan=grant.plan, optionee=colleague, grant_date=d("2006-01-03"))
    optionee.terminate(d("2008-01-31"), "other")
    assert_expires(theirs, "2016-01-03", "term")


# --------------------------------------------------------------------------- refusals


@pytest.mark.parametrize(
    ("on", "reason", "code"),
    [
        ("2008-01-31", "retired", "bad_reason"),
        ("2008-01-31", "", "bad_reason"),
        ("2005-07-12", "other", "termination_before_grant"),
    ],
)
def test_a_bad_termination_is_refused(grant, optionee, on, reason, code):
    with changes_nothing(grant), pytest.raises(ValidationError) as exc:
        optionee.terminate(d(on), reason)
    assert exc.value.code == code
    assert exc.value.messages[0]


def test_a_termination_before_an_ended_grant_was_made_is_refused(grant, optionee):
    """A grant that has expired was still made during service: ending the service before
    it would move its recorded last day to before its grant date (and the 10-K option
    table of its year would start below zero). A grant cancelled as recorded in error
    proves nothing and does not refuse it."""
    grant.run_nightly(grant.expires_on + dt.timedelta(days=1))  # the term has ended: expired
    grant.refresh_from_db()
    assert grant.status == Grant.Status.EXPIRED
    with changes_nothing(grant), pytest.raises(ValidationError) as exc:
        optionee.terminate(d("2005-07-12"), "other")
    assert exc.value.code == "termination_before_grant"
    mistaken = GrantFactory(plan=grant.plan, optionee=optionee, grant_date=d("2009-01-05"))
    mistaken.cancel("Recorded for the wrong optionee")
    assert optionee.terminate(d("2008-01-31"), "other").on == d("2008-01-31")


@pytest.mark.parametrize("on", ["2008-01-31", None, dt.datetime(2008, 1, 31, 12, tzinfo=CHICAGO)])
def test_the_termination_date_must_be_a_date(grant, optionee, on):
    with changes_nothing(grant), pytest.raises(ValidationError) as exc:
        optionee.terminate(on, "other")
    assert exc.value.code == "bad_date"


def test_a_second_termination_is_refused_while_one_stands(grant, optionee):
    optionee.terminate(d("2008-01-31"), "other")
    grant.refresh_from_db()
    with changes_nothing(grant), pytest.raises(ValidationError) as exc:
        optionee.terminate(d("2008-02-29"), "disability")
    assert exc.value.code == "already_terminated"
    assert "2008-01-31" in str(exc.value)
    assert "reverse" in str(exc.value)
    assert Termination.objects.filter(optionee=optionee).count() == 1
    assert_expires(grant, "2008-04-30", "window")


def test_reverse_then_record_the_corrected_termination(grant, optionee):
    wrong = optionee.terminate(d("2008-01-31"), "other")
    assert_expires(grant, "2008-04-30", "window")

    wrong.reverse("Wrong date: the last day worked was 2008-02-29.")
    assert wrong.reversed_at is not None
    assert wrong.reversal_reason == "Wrong date: the last day worked was 2008-02-29."
    assert optionee.active_termination() is None
    assert_expires(grant, "2015-07-13", "term")
    assert grant.vested_shares(d("2009-07-13")) == 1_000_000

    right = optionee.terminate(d("2008-02-29"), "other")
    assert optionee.active_termination() == right
    assert_expires(grant, "2008-05-29", "window")
    assert Termination.objects.filter(optionee=optionee).count() == 2


def test_a_reversal_needs_a_reason_and_happens_once(grant, optionee):
    termination = optionee.terminate(d("2008-01-31"), "other")
    grant.refresh_from_db()
    for why in ("", "   "):
        with changes_nothing(grant), pytest.raises(ValidationError) as exc:
            termination.reverse(why)
        assert exc.value.code == "no_reason"
    termination.reverse("Entered in error.")
    grant.refresh_from_db()
    with changes_nothing(grant), pytest.raises(ValidationError) as exc:
        termination.reverse("Again.")
    assert exc.value.code == "already_reversed"


def test_reversing_a_death_clears_the_date_of_death(grant, optionee):
    termination = optionee.terminate(d("2008-01-31"), "death")
    termination.reverse("Death was reported for the wrong person.")
    optionee.refresh_from_db()
    assert optionee.date_of_death is None
    assert_expires(grant, "2015-07-13", "term")
    # The audit history of the optionee shows the date of death set, then cleared.
    deaths = [h.date_of_death for h in optionee.history.order_by("history_date", "history_id")]
    assert deaths[-2:] == [d("2008-01-31"), None]


def test_a_change_of_role_is_not_a_termination(grant, optionee):
    optionee.change_role("consultant")
    optionee.refresh_from_db()
    assert optionee.relationship == Optionee.Relationship.CONSULTANT
    assert optionee.active_termination() is None
    assert not Termination.objects.exists()
    assert_expires(grant, "2015-07-13", "term")
    optionee.change_role("director")
    assert_expires(grant, "2015-07-13", "term")
    roles = [h.relationship for h in optionee.history.order_by("history_date", "history_id")]
    assert roles == ["employee", "consultant", "director"]
    # A later termination still counts from the real end of service.
    optionee.terminate(d("2009-01-15"), "other")
    assert_expires(grant, "2009-04-15", "window")


def test_an_unknown_role_is_refused(grant, optionee):
    with changes_nothing(grant), pytest.raises(ValidationError) as exc:
        optionee.change_role("contractor")
    assert exc.value.code == "bad_relationship"
    optionee.refresh_from_db()
    assert optionee.relationship == Optionee.Relationship.EMPLOYEE


# --------------------------------------------------------------------------- 5b(iii) tolling


def test_domain_tolling_example_suspension_after_termination(grant, optionee, company):
    optionee.terminate(d("2008-01-31"), "other")
    assert_expires(grant, "2008-04-30", "window")
    company.suspend_registration(d("2008-02-10"), d("2008-02-19"))
    assert_expires(grant, "2008-05-10", "tolling")


def test_domain_tolling_example_suspension_recorded_first(grant, optionee, company):
    company.suspend_registration(d("2008-02-10"), d("2008-02-19"))
    assert_expires(grant, "2015-07-13", "term")  # no termination yet: the term
    optionee.terminate(d("2008-01-31"), "other")
    assert_expires(grant, "2008-05-10", "tolling")


@pytest.mark.parametrize(
    ("start", "end", "expires", "clause"),
    [
        ("2008-01-20", "2008-01-31", "2008-04-30", "window"),  # ends on the termination date
        ("2008-01-20", "2008-02-05", "2008-05-05", "tolling"),  # 5 days after termination
        ("2008-04-30", "2008-04-30", "2008-05-01", "tolling"),  # the last day itself
        ("2008-05-01", "2008-05-20", "2008-04-30", "window"),  # after the period: no effect
    ],
)
def test_tolling_counts_only_suspended_days_of_the_period(
    grant, optionee, company, start, end, expires, clause
):
    optionee.terminate(d("2008-01-31"), "other")
    company.suspend_registration(d(start), d(end))
    assert_expires(grant, expires, clause)


@pytest.mark.parametrize(
    ("reason", "expires", "clause"),
    [("disability", "2009-01-31", "window"), ("death", "2009-07-31", "window")],
)
def test_tolling_does_not_extend_disability_or_death(
    grant, optionee, company, reason, expires, clause
):
    optionee.terminate(d("2008-01-31"), reason)
    company.suspend_registration(d("2008-02-10"), d("2008-02-19"))
    assert_expires(grant, expires, clause)


def test_an_open_ended_suspension_pauses_the_clock_then_end_on(grant, optionee, company):
    optionee.terminate(d("2008-01-31"), "other")
    with time_machine.travel(noon("2008-03-01"), tick=False):
        suspension = company.suspend_registration(d("2008-02-10"))
        # Suspended 2008-02-10 through today (21 days): 2008-04-30 + 21 days.
        assert_expires(grant, "2008-05-21", "tolling")
        assert grant.exercisable_shares(d("2008-03-01")) == 0
    with time_machine.travel(noon("2008-06-30"), tick=False):
        # Still open: the option has not expired while the suspension lasts.
        assert grant.expiration_date() > d("2008-06-30")
        assert grant.expiration_date() == d("2008-04-30") + dt.timedelta(days=142)
        suspension.end_on(d("2008-02-19"))
        assert_expires(grant, "2008-05-10", "tolling")
        assert grant.exercisable_shares(d("2008-05-10")) == 662_500
        assert grant.exercisable_shares(d("2008-05-11")) == 0


def test_an_open_ended_suspension_never_passes_the_term(grant, optionee, company):
    optionee.terminate(d("2015-01-05"), "other")
    with time_machine.travel(noon("2016-01-04"), tick=False):
        company.suspend_registration(d("2015-02-02"))
        assert grant.expiration_date() == d("2015-07-13")
        grant.refresh_from_db()
        assert grant.expires_on == d("2015-07-13")


def test_a_suspension_ending_before_it_starts_is_refused(grant, optionee, company):
    optionee.terminate(d("2008-01-31"), "other")
    grant.refresh_from_db()
    with changes_nothing(grant), pytest.raises(ValidationError) as exc:
        company.suspend_registration(d("2008-02-19"), d("2008-02-10"))
    assert exc.value.code == "suspension_order"
    suspension = company.suspend_registration(d("2008-02-10"))
    grant.refresh_from_db()
    with changes_nothing(grant), pytest.raises(ValidationError) as exc:
        suspension.end_on(d("2008-02-09"))
    assert exc.value.code == "suspension_order"
    suspension.refresh_from_db()
    assert suspension.end is None


def test_a_suspension_at_another_company_does_not_toll(grant, optionee):
    optionee.terminate(d("2008-01-31"), "other")
    PlanFactory().company.suspend_registration(d("2008-02-10"), d("2008-02-19"))
    assert_expires(grant, "2008-04-30", "window")


# --------------------------------------------------------------------------- 5b(iv) Section 16


@pytest.fixture
def insider(optionee):
    optionee.relationship = Optionee.Relationship.OFFICER
    optionee.is_section16_insider = True
    optionee.save()
    return optionee


@pytest.mark.parametrize(
    ("start", "end", "expires", "clause"),
    [
        ("2008-03-01", "2008-05-15", "2008-05-25", "section16"),  # 10th day after the window
        ("2008-04-20", "2008-07-20", "2008-07-30", "section16"),
        ("2008-04-01", "2008-09-15", "2008-08-10", "section16"),  # cap: 6 months and 10 days
        ("2008-02-01", "2008-02-15", "2008-04-30", "window"),  # only ever extends
        ("2008-05-01", "2008-06-30", "2008-04-30", "window"),  # does not touch the period
        ("2007-11-01", "2008-01-31", "2008-04-30", "window"),  # ends on the termination date
    ],
)
def test_section16_window_for_an_insider(grant, insider, start, end, expires, clause):
    insider.terminate(d("2008-01-31"), "other")
    window = insider.record_section16_liability(d(start), d(end))
    assert (window.start, window.end) == (d(start), d(end))
    assert_expires(grant, expires, clause)


def test_section16_window_recorded_before_termination(grant, insider):
    insider.record_section16_liability(d("2008-03-01"), d("2008-05-15"))
    assert_expires(grant, "2015-07-13", "term")
    insider.terminate(d("2008-01-31"), "other")
    assert_expires(grant, "2008-05-25", "section16")


def test_section16_window_order_is_checked(grant, insider):
    with changes_nothing(grant), pytest.raises(ValidationError) as exc:
        insider.record_section16_liability(d("2008-05-15"), d("2008-03-01"))
    assert exc.value.code == "window_order"


@pytest.mark.parametrize(
    ("window_end", "expires", "clause"),
    [
        ("2008-05-05", "2008-05-15", "section16"),  # Section 16 later than tolling: it wins
        ("2008-04-25", "2008-05-10", "tolling"),  # tolling later: it wins
    ],
)
def test_tolling_and_section16_the_later_wins(grant, insider, company, window_end, expires, clause):
    insider.terminate(d("2008-01-31"), "other")
    company.suspend_registration(d("2008-02-10"), d("2008-02-19"))
    assert_expires(grant, "2008-05-10", "tolling")
    insider.record_section16_liability(d("2008-03-01"), d(window_end))
    assert_expires(grant, expires, clause)


def test_section16_extends_a_disability_window_only_if_later(grant, insider):
    insider.terminate(d("2008-01-31"), "disability")
    insider.record_section16_liability(d("2008-03-01"), d("2008-07-20"))
    assert_expires(grant, "2009-01-31", "window")


# --------------------------------------------------------------------------- the term's end


@pytest.mark.parametrize("reason", ["other", "disability", "death"])
def test_nothing_passes_the_term_end_for_a_termination_in_2015(grant, insider, company, reason):
    insider.terminate(d("2015-05-01"), reason)
    company.suspend_registration(d("2015-05-10"), d("2015-06-20"))
    insider.record_section16_liability(d("2015-05-01"), d("2015-07-10"))
    assert grant.expiration_date() == d("2015-07-13")
    grant.refresh_from_db()
    assert grant.expires_on == d("2015-07-13")
    assert grant.expiration_clause == "term"


@pytest.mark.parametrize("extension", ["tolling", "section16"])
def test_an_extension_cut_by_the_term_end_lands_on_the_term_end(grant, insider, company, extension):
    insider.terminate(d("2015-03-02"), "other")  # normal end 2015-06-02
    if extension == "tolling":
        company.suspend_registration(d("2015-05-01"), d("2015-06-30"))
    else:
        insider.record_section16_liability(d("2015-05-01"), d("2015-07-10"))
    assert grant.expiration_date() == d("2015-07-13")
    grant.refresh_from_db()
    assert grant.expires_on == d("2015-07-13")


@pytest.mark.parametrize("extension", ["tolling", "section16"])
def test_an_extension_cut_by_the_term_end_is_attributed_to_the_term(
    grant, insider, company, extension
):
    insider.terminate(d("2015-03-02"), "other")
    if extension == "tolling":
        company.suspend_registration(d("2015-05-01"), d("2015-06-30"))
    else:
        insider.record_section16_liability(d("2015-05-01"), d("2015-07-10"))
    assert grant.expiration().clause == "term"


# --------------------------------------------------------------------------- audit history


def test_the_grant_history_records_each_stored_expiration(grant, insider, company):
    insider.terminate(d("2008-01-31"), "other")
    company.suspend_registration(d("2008-02-10"), d("2008-02-19"))
    window = insider.record_section16_liability(d("2008-03-01"), d("2008-05-05"))
    insider.active_termination().reverse("Recorded in error.")
    insider.terminate(d("2008-02-29"), "disability")
    history = [
        (h.expires_on, h.expiration_clause)
        for h in grant.history.order_by("history_date", "history_id")
    ]
    assert history == [
        (d("2015-07-13"), "term"),  # created
        (d("2008-04-30"), "window"),  # terminated
        (d("2008-05-10"), "tolling"),  # suspension recorded
        (d("2008-05-15"), "section16"),  # liability window recorded
        (d("2015-07-13"), "term"),  # termination reversed
        (d("2009-02-28"), "window"),  # corrected termination
    ]
    assert window.history.count() == 1


def test_the_termination_history_records_recording_and_reversal(grant, optionee):
    termination = optionee.terminate(d("2008-01-31"), "other", note="Resigned.")
    termination.reverse("Resignation withdrawn.")
    records = list(termination.history.order_by("history_date", "history_id"))
    assert [r.history_type for r in records] == ["+", "~"]
    assert records[0].on == d("2008-01-31")
    assert records[0].reversed_at is None
    assert records[0].note == "Resigned."
    assert records[1].reversed_at is not None
    assert records[1].reversal_reason == "Resignation withdrawn."
    assert Termination.history.filter(id=termination.pk).count() == 2


def test_a_refused_termination_leaves_no_history(grant, optionee):
    optionee.terminate(d("2008-01-31"), "other")
    before = (Termination.history.count(), Grant.history.count(), Optionee.history.count())
    with pytest.raises(ValidationError):
        optionee.terminate(d("2008-02-01"), "other")
    assert (Termination.history.count(), Grant.history.count(), Optionee.history.count()) == before
