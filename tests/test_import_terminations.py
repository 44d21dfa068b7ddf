"""``manage.py import_terminations``: the HR feed, applied through ``Optionee.terminate``;
a second import changes nothing, a conflicting standing termination is reported and left
alone, and a termination reported late lists the exercises accepted after it."""

from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from grants.models import Exercise, Grant, Optionee, Termination
from tests.conftest import d
from tests.factories import GrantFactory, OptioneeFactory, changes_nothing

SAMPLES = Path(__file__).resolve().parent.parent / "docs" / "samples"
HEADER = "employee_id,email,date,reason,note"


def feed(tmp_path, *lines: str, header: str = HEADER, name="terminations.csv") -> str:
    path = tmp_path / name
    path.write_text("\n".join([header, *lines]) + "\n", encoding="utf-8")
    return str(path)


def run(path: str, *args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("import_terminations", path, *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def failed(path: str, *args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    with pytest.raises(CommandError):
        call_command("import_terminations", path, *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def refused(path: str, *args: str) -> tuple[str, str]:
    """A feed with an error: non-zero exit, and nothing applied."""
    with changes_nothing():
        out, err = failed(path, *args)
    assert "Nothing was imported" in out
    return out, err


@pytest.fixture
def colleague(grant):
    """A second optionee of the seed company with a grant of 40,000 shares from 2006."""
    optionee = OptioneeFactory(
        company=grant.company,
        legal_name="Maria Garcia",
        employee_id="V-1001",
        email="maria.garcia@example.com",
    )
    GrantFactory(
        number="VLNC-2006-0002",
        plan=grant.plan,
        optionee=optionee,
        grant_date=d("2006-01-03"),
        shares=40_000,
        installments=[(d("2006-01-03"), 10_000), (d("2007-01-03"), 30_000)],
    )
    return optionee


def test_the_seed_optionee_leaving_on_2008_01_31_expires_on_2008_04_30(grant, tmp_path):
    out, err = run(feed(tmp_path, "V-0001,,2008-01-31,other,Resigned"))
    assert err == ""
    termination = grant.optionee.active_termination()
    assert (termination.on, termination.reason, termination.note) == (
        d("2008-01-31"),
        "INVOLUNTARY_OTHER",  # the short name "other", as the Open Cap Format names it
        "Resigned",
    )
    grant.refresh_from_db()
    assert grant.expires_on == d("2008-04-30")
    assert grant.returned_shares == grant.forfeited_shares() == 6 * 56_250
    assert (
        "Line 2: James R. Akridge's termination on 2008-01-31 (INVOLUNTARY_OTHER) recorded" in out
    )
    assert "grant VLNC-2005-0001 now expires 2008-04-30 (window), already past" in out
    assert "terminations recorded: 1" in out


def test_the_sample_feed_applies_and_a_second_import_changes_nothing(grant, tmp_path):
    call_command("import_grants", str(SAMPLES / "grants.csv"), stdout=StringIO())
    out, err = run(str(SAMPLES / "terminations.csv"))
    assert err == ""
    assert "terminations recorded: 2" in out
    raman = Optionee.objects.get(employee_id="V-2003")
    assert raman.active_termination().on == d("2008-09-30")
    assert raman.active_termination().note == "Consulting agreement ended"
    webb = Optionee.objects.get(employee_id="V-2002")
    assert webb.active_termination().reason == "INVOLUNTARY_DISABILITY"
    assert webb.active_termination().note == "HR feed terminations.csv, line 3"
    assert Grant.objects.get(number="VLNC-2008-0105").expires_on == d("2010-02-27")

    with changes_nothing(*Grant.objects.all()):
        out, err = run(str(SAMPLES / "terminations.csv"))
    assert err == ""
    assert "terminations recorded: 0" in out
    assert "already recorded (skipped): 2" in out
    assert (
        "Line 3: Marcus Webb's termination on 2009-02-27 (INVOLUNTARY_DISABILITY) is already "
        "recorded" in out
    )


def test_a_person_is_found_by_e_mail_whatever_its_case(colleague, tmp_path):
    run(feed(tmp_path, ",Maria.Garcia@Example.com,2008-06-30,other,"))
    assert colleague.active_termination().on == d("2008-06-30")


def test_a_death_records_the_date_of_death(colleague, tmp_path):
    run(feed(tmp_path, "V-1001,,2008-06-30,death,"))
    colleague.refresh_from_db()
    assert colleague.date_of_death == d("2008-06-30")
    assert Grant.objects.get(number="VLNC-2006-0002").expires_on == d("2009-12-30")


def test_a_different_standing_termination_is_a_conflict_and_is_not_applied(
    grant, colleague, tmp_path
):
    grant.optionee.terminate(d("2008-01-31"), "other")
    path = feed(tmp_path, "V-0001,,2008-02-29,disability,", "V-1001,,2008-06-30,other,")
    out, err = failed(path)
    assert (
        f"{path}, line 2: conflict, not applied: the book has James R. Akridge's service ending "
        f"on 2008-01-31 (INVOLUNTARY_OTHER), the feed says 2008-02-29 (INVOLUNTARY_DISABILITY)."
        in err
    )
    assert "reverse the recorded termination in the back office" in err
    assert grant.optionee.active_termination().on == d("2008-01-31")
    assert Termination.objects.filter(optionee=grant.optionee).count() == 1
    # The other lines of the feed are applied.
    assert colleague.active_termination().on == d("2008-06-30")
    assert "conflicts (not applied): 1" in out
    assert "terminations recorded: 1" in out
    assert "Nothing was imported" not in out


def test_after_a_reversal_the_feed_records_the_corrected_termination(grant, tmp_path):
    grant.optionee.terminate(d("2008-01-31"), "other")
    grant.optionee.active_termination().reverse("HR corrected the date")
    run(feed(tmp_path, "V-0001,,2008-02-29,disability,"))
    assert grant.optionee.active_termination().on == d("2008-02-29")


def test_every_bad_line_is_reported_with_its_line_number_and_nothing_is_applied(
    colleague, tmp_path
):
    OptioneeFactory(company=colleague.company, employee_id="V-1003", legal_name="Eleanor Walsh")
    path = feed(
        tmp_path,
        "V-1001,,2008-06-30,other,",  # line 2: good
        "V-9999,,2008-06-30,other,",
        ",nobody@example.com,2008-06-30,other,",
        "V-5555,,2008-06-31,retired,",
        ",,2008-06-30,other,",
        "V-0001,,2005-01-31,other,",
        "V-1001,,2008-07-31,other,",
        "V-1003,maria.garcia@example.com,2008-06-30,other,",
    )
    out, err = refused(path)
    assert f"{path}, line 3: there is no optionee with employee id V-9999 at Valence" in err
    assert f"{path}, line 4: there is no optionee with the e-mail nobody@example.com" in err
    assert f"{path}, line 5: date: “2008-06-31” is not a date" in err
    assert f"{path}, line 5: reason: “RETIRED” is not a termination reason; use one of" in err
    assert f"{path}, line 6: give the person's employee_id or email." in err
    assert f"{path}, line 7: The termination date 2005-01-31 is before grant VLNC-2005-0001" in err
    assert f"{path}, line 8: this person is already on line 2" in err
    assert f"{path}, line 9: employee V-1003 is Eleanor Walsh, whose e-mail in the book" in err
    assert "line 2:" not in err
    assert "terminations recorded: 0" in out
    assert colleague.active_termination() is None


def test_an_e_mail_shared_by_two_people_needs_the_employee_id(colleague, tmp_path):
    OptioneeFactory(company=colleague.company, email="MARIA.GARCIA@example.com")
    _, err = refused(feed(tmp_path, ",maria.garcia@example.com,2008-06-30,other,"))
    assert "line 2: several optionees have the e-mail maria.garcia@example.com" in err
    run(feed(tmp_path, "V-1001,maria.garcia@example.com,2008-06-30,other,", name="ok.csv"))
    assert colleague.active_termination().on == d("2008-06-30")


def test_a_termination_dated_after_the_as_of_date_is_refused(colleague, tmp_path):
    path = feed(tmp_path, "V-1001,,2008-06-30,other,")
    _, err = refused(path, "--as-of", "2008-06-29")
    assert "date: 2008-06-30 is after 2008-06-29, the day of this import" in err
    run(path, "--as-of", "2008-06-30")
    assert colleague.active_termination() is not None


def test_a_late_report_lists_the_exercises_accepted_after_the_termination_date(grant, tmp_path):
    before = grant.request_exercise(5_000, d("2008-01-15"), payment_method="cash")
    after = grant.request_exercise(10_000, d("2008-03-03"), payment_method="check")
    cancelled = grant.request_exercise(2_000, d("2008-03-10"), payment_method="cash")
    cancelled.cancel(d("2008-03-11"))
    out, err = run(feed(tmp_path, "V-0001,,2008-01-31,other,"))
    assert err == ""
    assert (
        f"Review: exercise #{after.pk} of grant VLNC-2005-0001, 10,000 shares on 2008-03-03 "
        f"(requested: price not yet received), was accepted after the termination date "
        f"2008-01-31" in out
    )
    assert f"#{before.pk} " not in out
    assert f"#{cancelled.pk} " not in out
    assert "exercises after the termination date to review: 1" in out
    after.refresh_from_db()
    assert after.status == Exercise.Status.REQUESTED
    assert grant.optionee.active_termination().on == d("2008-01-31")


def test_a_dry_run_reports_and_applies_nothing(colleague, tmp_path):
    path = feed(tmp_path, "V-1001,,2008-06-30,other,")
    with changes_nothing():
        out, err = run(path, "--dry-run")
    assert err == ""
    assert "(dry run: nothing was committed or sent)" in out
    assert "Maria Garcia's termination on 2008-06-30 (INVOLUNTARY_OTHER) would be recorded" in out
    assert "terminations recorded: 1" in out
    assert colleague.active_termination() is None


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "The file is empty; its first line must be the header"),
        (b"date,reason\n2008-06-30,other\n", "the header needs at least one of the columns"),
        (b"employee_id,reason\nV-1,other\n", "the column “date” is missing from the header."),
        (b"employee_id,date,reason\nV-1,2008-06-30,d\xe9c\xe8s\n", "is not UTF-8 text"),
        (HEADER.encode() + b"\n", "The file has the header but no rows."),
    ],
)
def test_a_feed_that_cannot_be_read_is_refused(grant, tmp_path, content, message):
    path = tmp_path / "terminations.csv"
    path.write_bytes(content)
    _, err = refused(str(path))
    assert message in err
