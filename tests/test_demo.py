import datetime as dt

import pytest
from django.core.management import call_command

from grants.models import Exercise, Grant, Optionee, Termination

pytestmark = pytest.mark.django_db


def test_load_demo_loads_the_seed_grant_exactly_as_domain_md_fixes_it():
    call_command("load_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    grant = Grant.objects.get(number="VLNC-2005-0001")
    assert grant.optionee.legal_name == "James R. Akridge"
    assert grant.company.name == "Valence Technology, Inc."
    assert grant.company.time_zone == "America/Chicago"
    assert grant.optionee.user is not None
    assert (grant.grant_date, grant.term_end) == (dt.date(2005, 7, 13), dt.date(2015, 7, 13))
    assert grant.shares == 1_000_000
    assert str(grant.exercise_price) == "2.9900"
    assert grant.option_type == "NSO"
    assert grant.installments.count() == 14
    assert not grant.exercises.exists()
    assert not Termination.objects.filter(optionee=grant.optionee).exists()
    assert not grant.company.registration_suspensions.exists()
    assert not grant.optionee.section16_windows.exists()
    # Facts only: the nightly job has not run, so the stored status stays "granted",
    # while the rules already treat the grant as past its expiration date.
    assert grant.status == Grant.Status.GRANTED
    assert grant.expiration_date() == dt.date(2015, 7, 13)
    assert grant.exercisable_shares(dt.date(2026, 1, 5)) == 0


def test_load_demo_is_idempotent_and_prints_how_to_sign_in(capsys):
    call_command("load_demo")
    counts = (Grant.objects.count(), Optionee.objects.count(), Exercise.objects.count())
    call_command("load_demo")
    assert (Grant.objects.count(), Optionee.objects.count(), Exercise.objects.count()) == counts
    out = capsys.readouterr().out
    assert "stockadmin" in out
    assert "jakridge" in out


def test_demo_shows_the_other_states():
    call_command("load_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    terminated = Optionee.objects.get(legal_name="Thomas Nguyen")
    termination = terminated.active_termination()
    assert termination is not None
    grant = terminated.grants.get()
    today = grant.company.today()
    assert grant.expiration_date() >= today  # still inside the post-termination window
    director = Optionee.objects.get(legal_name="Eleanor Walsh")
    assert director.is_section16_insider
    assert director.relationship == "director"
    assert director.grants.get().exercises.filter(status="awaiting_payment").exists()
    consultant = Optionee.objects.get(legal_name="Ravi Patel")
    minimum = consultant.grants.get().terms.minimum_exercise
    assert all(i.shares < minimum for i in consultant.grants.get().installments.all())
    assert Optionee.objects.filter(user__isnull=True).count() == 0


def test_load_demo_prints_the_address_of_the_port_given(db):
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("load_demo", "--port", "8010", stdout=out)
    assert "Sign in at http://127.0.0.1:8010/" in out.getvalue()
