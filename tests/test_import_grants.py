"""``manage.py import_grants``: the administrator's spreadsheet, checked line by line with the
model's own rules, imported all or nothing, and idempotent when imported again."""

import datetime as dt
from decimal import Decimal
from io import StringIO
from pathlib import Path

import pytest
import time_machine
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import IntegrityError, connection
from django.test.utils import CaptureQueriesContext

from grants import rules
from grants.models import ClosingPrice, Grant, Installment, Optionee, Plan, Termination
from grants.schedules import build_schedule
from grants.services import granting
from tests.conftest import d
from tests.factories import CompanyFactory, GrantTermsFactory, PlanFactory, changes_nothing

SAMPLES = Path(__file__).resolve().parent.parent / "docs" / "samples"
PLAN = "Compensatory Benefit Plan"
HEADER = (
    "employee_id,legal_name,email,relationship,insider,grant_number,type,grant_date,shares,"
    "exercise_price,term_end,plan,terms,immediate_shares,cliff_months,vesting_months,"
    "every_months,schedule"
)


def line(
    employee_id="V-3001",
    legal_name="Ann Lee",
    email="ann.lee@example.com",
    relationship="employee",
    insider="no",
    number="G-0001",
    kind="NSO",
    grant_date="2007-03-01",
    shares="48000",
    price="1.85",
    term_end="2017-03-01",
    plan=PLAN,
    terms="",
    immediate="",
    cliff="12",
    vesting="48",
    every="12",
    schedule="",
) -> str:
    cells = [employee_id, legal_name, email, relationship, insider, number, kind, grant_date]
    cells += [shares, price, term_end, plan, terms, immediate, cliff, vesting, every, schedule]
    return ",".join(f'"{c}"' if "," in c else c for c in cells)


def csv_file(tmp_path, *lines: str, header: str = HEADER, name="grants.csv") -> str:
    path = tmp_path / name
    path.write_text("\n".join([header, *lines]) + "\n", encoding="utf-8")
    return str(path)


def run(path: str, *args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("import_grants", path, *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def refused(path: str, *args: str) -> tuple[str, str]:
    """Run an import that must fail: non-zero exit, and the book left as it was."""
    out, err = StringIO(), StringIO()
    with changes_nothing(), pytest.raises(CommandError):
        call_command("import_grants", path, *args, stdout=out, stderr=err)
    assert "Nothing was imported" in out.getvalue()
    return out.getvalue(), err.getvalue()


def schedule_of(number: str) -> list[tuple[dt.date, int]]:
    return list(
        Installment.objects.filter(grant__number=number)
        .order_by("vest_date")
        .values_list("vest_date", "shares")
    )


# --------------------------------------------------------------------------- the sample


def test_the_sample_file_imports_and_a_second_run_changes_nothing(grant):
    call_command("import_prices", str(SAMPLES / "prices.csv"), stdout=StringIO())
    out, err = run(str(SAMPLES / "grants.csv"))
    assert err == ""
    assert "grants imported: 5" in out
    assert "new optionees: 3" in out
    chen = Grant.objects.get(number="VLNC-2007-0101")
    assert chen.optionee.legal_name == "Linda Chen"
    assert chen.optionee.relationship == "officer"
    assert chen.optionee.is_section16_insider
    assert chen.terms.name == "Valence 2005 non-qualified stock option"
    assert schedule_of("VLNC-2007-0101") == build_schedule(
        grant_date=d("2007-03-01"),
        total_shares=200_000,
        cliff_months=12,
        vesting_months=48,
        every_months=3,
    )
    assert schedule_of("VLNC-2007-0103") == [
        (d("2007-06-15"), 4_000),
        (d("2008-06-15"), 4_000),
        (d("2009-06-15"), 4_000),
    ]
    assert schedule_of("VLNC-2008-0105") == [(d("2009-01-15"), 10_000), (d("2010-01-15"), 10_000)]
    webb = Optionee.objects.get(employee_id="V-2002")
    assert webb.grants.count() == 2
    assert Grant.objects.get(number="VLNC-2007-0104").optionee == grant.optionee

    with changes_nothing(grant):
        history = (Grant.history.count(), Installment.history.count(), Optionee.history.count())
        out, err = run(str(SAMPLES / "grants.csv"))
        assert history == (
            Grant.history.count(),
            Installment.history.count(),
            Optionee.history.count(),
        )
    assert err == ""
    assert "grants imported: 0" in out
    assert "already imported (skipped): 5" in out
    assert "Line 2: grant VLNC-2007-0101 already imported; skipped." in out
    assert chen.history.earliest().history_source == "command import_grants"


def test_a_new_optionee_gets_the_back_office_defaults_for_what_the_line_leaves_blank(
    grant, tmp_path
):
    run(csv_file(tmp_path, line(email="", relationship="", insider="")))
    ann = Optionee.objects.get(employee_id="V-3001")
    assert ann.company == grant.company
    assert (ann.legal_name, ann.email, ann.relationship) == ("Ann Lee", "", "employee")
    assert not ann.is_section16_insider


def test_an_existing_optionee_is_matched_by_employee_id(grant, tmp_path):
    optionees = Optionee.objects.count()
    run(csv_file(tmp_path, line(employee_id="V-0001", legal_name="James R. Akridge", email="")))
    assert Optionee.objects.count() == optionees
    assert Grant.objects.get(number="G-0001").optionee == grant.optionee


def test_explicit_installments_accept_thousands_separators_in_a_quoted_cell(grant, tmp_path):
    schedule = "2008-03-01:24,000; 2007-03-01:24,000;"
    run(csv_file(tmp_path, line(cliff="", vesting="", every="", schedule=schedule)))
    assert schedule_of("G-0001") == [(d("2007-03-01"), 24_000), (d("2008-03-01"), 24_000)]


def test_a_grant_vesting_whole_on_the_grant_date_is_an_immediate_tranche(grant, tmp_path):
    run(csv_file(tmp_path, line(immediate="48000", cliff="", vesting="", every="")))
    assert schedule_of("G-0001") == [(d("2007-03-01"), 48_000)]


def test_a_change_of_role_since_the_import_does_not_stop_a_second_import(grant, tmp_path):
    """A file sent again (a cumulative feed) is not refused because the book has moved on:
    the person's details on a line already imported are not compared."""
    path = csv_file(tmp_path, line())
    run(path)
    Optionee.objects.get(employee_id="V-3001").change_role("consultant")
    Optionee.objects.filter(employee_id="V-3001").update(email="ann@example.org")
    out, _ = run(path)
    assert "already imported (skipped): 1" in out


def test_named_terms_are_used(grant, tmp_path):
    terms = GrantTermsFactory(
        name="Directors 2007", terms=rules.Terms().with_window("other", period=12)
    )
    run(csv_file(tmp_path, line(terms="Directors 2007")))
    assert Grant.objects.get(number="G-0001").terms == terms


# --------------------------------------------------------------------------- refusals


def test_every_bad_line_is_reported_with_its_line_number_and_nothing_is_imported(grant, tmp_path):
    path = csv_file(
        tmp_path,
        line(number="G-0001"),  # line 2: good
        line(number="G-0002", employee_id="V-3002", grant_date="2007-02-30"),
        line(number="G-0003", employee_id="V-3003", shares="1000.5", kind="XSO"),
        line(number="G-0004", employee_id="V-3004", plan="No Such Plan"),
        line(number="G-0005", employee_id="V-3005", cliff="", vesting="", every=""),
        line(number="G-0001", employee_id="V-3006"),
        line(number="G-0007", employee_id="V-3007", term_end="2020-03-01"),
        line(number="G-0008", employee_id="V-3008", cliff="", schedule="2007-03-01:1000"),
        line(number="G-0009", employee_id="V-3009"),  # line 10: good
    )
    optionees = Optionee.objects.count()
    out, err = refused(path)
    assert Optionee.objects.count() == optionees
    assert f"{path}, line 3: grant_date: “2007-02-30” is not a date" in err
    assert f"{path}, line 4: type: “XSO” is not one of NSO, ISO." in err
    assert f"{path}, line 4: shares: 1000.5 is not a whole number" in err
    assert f"{path}, line 5: plan: there is no plan named “No Such Plan”" in err
    assert f"{path}, line 6: the vesting schedule is missing" in err
    assert f"{path}, line 7: grant number G-0001 is already on line 2" in err
    assert f"{path}, line 8: The plan allows a term of at most 10 years" in err
    assert f"{path}, line 9: give the schedule either as installments" in err
    assert "line 2:" not in err
    assert "line 10:" not in err
    assert "failed: 8" in out
    assert "grants imported: 0" in out


def test_the_model_refuses_a_schedule_that_does_not_add_up(grant, tmp_path):
    path = csv_file(tmp_path, line(cliff="", vesting="", every="", schedule="2007-03-01:1000"))
    _, err = refused(path)
    assert "line 2: The installments add up to 1,000 shares but the grant is for 48,000" in err


def test_a_refusal_by_the_database_undoes_the_file_and_says_what_to_do(
    grant, tmp_path, monkeypatch
):
    # Another session adds grant G-0001 between this import's checks and its writes: the
    # unique grant number stops the write, after the new optionee and grant were inserted.
    made = granting.create_many

    def racing(specs, **kwargs):
        made(specs, **kwargs)
        raise IntegrityError('duplicate key value violates unique constraint "number"')

    monkeypatch.setattr(granting, "create_many", racing)
    path = csv_file(tmp_path, line(number="G-0001"))
    _, err = refused(path)
    assert not Optionee.objects.filter(employee_id="V-3001").exists()
    assert f"{path}: the database refused the file (duplicate key value" in err
    assert "Import the file again" in err


def test_the_plan_reserve_is_checked_across_the_lines_of_one_file(grant, tmp_path):
    PlanFactory(company=grant.company, name="Small Plan", share_reserve=60_000)
    path = csv_file(
        tmp_path,
        line(number="G-0001", plan="Small Plan"),
        line(number="G-0002", plan="Small Plan"),
    )
    _, err = refused(path)
    assert "line 3: The plan has 12,000 shares left in its reserve" in err
    assert "line 2" not in err


def test_a_price_below_the_closing_price_on_the_grant_date_is_refused(grant, tmp_path):
    ClosingPrice.objects.create(company=grant.company, date=d("2007-03-01"), price=Decimal("2"))
    _, err = refused(csv_file(tmp_path, line(price="1.85")))
    assert "line 2: The exercise price $1.85 is below the fair market value" in err


def test_an_optionee_whose_details_differ_from_the_book_is_refused(grant, tmp_path):
    path = csv_file(
        tmp_path, line(employee_id="V-0001", legal_name="Jim Akridge", relationship="officer")
    )
    _, err = refused(path)
    assert "line 2: employee V-0001 differs from the book" in err
    assert "legal_name “James R. Akridge” in the book" in err
    assert "relationship employee in the book" in err


def test_one_person_with_other_details_on_another_line_is_refused(grant, tmp_path):
    path = csv_file(tmp_path, line(number="G-0001"), line(number="G-0002", email="ann@example.com"))
    _, err = refused(path)
    assert "line 3: employee V-3001 is on line 2 with other details" in err


def test_unknown_terms_are_refused(grant, tmp_path):
    _, err = refused(csv_file(tmp_path, line(terms="Executive")))
    assert "line 2: terms: there is no agreement form named “Executive”" in err


def test_a_grant_number_in_the_book_with_other_data_is_an_error(grant, tmp_path):
    run(csv_file(tmp_path, line()))
    path = csv_file(tmp_path, line(shares="50000"), line(number="G-0002"), name="second.csv")
    _, err = refused(path)
    assert "line 2: grant G-0001 is already in the book with other data" in err
    assert "shares 48,000 in the book, 50,000 in the file" in err
    assert not Grant.objects.filter(number="G-0002").exists()


@pytest.mark.parametrize(
    ("changes", "difference"),
    [
        ({"employee_id": "V-3002"}, "employee_id V-3001 in the book, V-3002 in the file"),
        ({"plan": "Other Plan"}, "plan Compensatory Benefit Plan in the book, Other Plan in"),
        (
            {"terms": "Executive"},
            "terms Valence 2005 non-qualified stock option in the book, Executive in the file",
        ),
        ({"kind": "ISO"}, "option_type NSO in the book, ISO in the file"),
        ({"grant_date": "2007-03-02"}, "grant_date 2007-03-01 in the book, 2007-03-02 in"),
        ({"shares": "48001", "every": "", "vesting": "", "cliff": "", "immediate": "48001"},
         "shares 48,000 in the book, 48,001 in the file"),
        ({"price": "1.86"}, "exercise_price 1.8500 in the book, 1.86 in the file"),
        ({"term_end": "2017-02-28"}, "term_end 2017-03-01 in the book, 2017-02-28 in the file"),
        ({"every": "6"}, "installments 2008-03-01:12000;2009-03-01:12000;"),
    ],
)  # fmt: skip
def test_a_grant_in_the_book_sent_again_with_any_field_changed_is_refused(
    grant, tmp_path, changes, difference
):
    """docs/import-formats.md: the same number with different data is an error naming each
    difference; nothing of the file is kept. Every column of the grant counts (the
    person's details do not: see the next test)."""
    PlanFactory(company=grant.company, name="Other Plan")
    GrantTermsFactory(name="Executive")
    ClosingPrice.objects.create(company=grant.company, date=d("2007-03-02"), price=Decimal("1"))
    run(csv_file(tmp_path, line()))
    other = line(number="G-0002", employee_id="V-4001", email="bo@example.com", legal_name="Bo")
    _, err = refused(csv_file(tmp_path, line(**changes), other, name="again.csv"))
    assert "line 2: " in err
    assert difference in err
    assert not Grant.objects.filter(number="G-0002").exists()


def test_a_grant_in_the_book_with_another_schedule_is_an_error(grant, tmp_path):
    """The same grant sent again is skipped only if its installments match too (they are
    read as plain rows, however many grants the file names)."""
    run(csv_file(tmp_path, line()))
    out, _ = run(csv_file(tmp_path, line(), name="again.csv"))
    assert "already imported (skipped): 1" in out
    _, err = refused(csv_file(tmp_path, line(every="3"), name="other.csv"))
    assert "line 2: grant G-0001 is already in the book with other data: installments" in err


def test_a_grant_number_of_another_company_is_an_error(grant, tmp_path):
    other = PlanFactory(name=PLAN)
    run(csv_file(tmp_path, line()), "--company", str(other.company))
    _, err = refused(csv_file(tmp_path, line(), name="again.csv"), "--company", grant.company.name)
    assert f"grant number G-0001 is already used by {other.company}" in err


def test_a_grant_dated_after_the_as_of_date_is_refused(grant, tmp_path):
    path = csv_file(tmp_path, line(grant_date="2007-03-01"))
    _, err = refused(path, "--as-of", "2007-02-28")
    assert "grant_date: 2007-03-01 is after 2007-02-28, the day of this import" in err
    run(path, "--as-of", "2007-03-01")
    assert Grant.objects.filter(number="G-0001").exists()


def test_the_default_as_of_date_is_today_in_the_company_time_zone(grant, tmp_path):
    path = csv_file(tmp_path, line(grant_date="2007-03-01"))
    # 05:00 UTC on March 1 is still February 28 in Chicago.
    with time_machine.travel(dt.datetime(2007, 3, 1, 5, 0, tzinfo=dt.UTC), tick=False):
        _, err = refused(path)
    assert "is after 2007-02-28" in err
    with time_machine.travel(dt.datetime(2007, 3, 1, 6, 0, tzinfo=dt.UTC), tick=False):
        run(path)
    assert Grant.objects.filter(number="G-0001").exists()


# --------------------------------------------------------------------------- the file


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "The file is empty; its first line must be the header"),
        (b"\n  \n", "The file is empty"),
        (HEADER.encode() + b"\n", "The file has the header but no rows."),
        (
            HEADER.replace("legal_name", "Legal Name").encode() + b"\nV-1,Ren\xe9e\n",
            "Line 2 is not UTF-8 text (byte 0xe9); save the file as “CSV UTF-8”",
        ),
        (
            (HEADER + ",department").encode() + b"\n",
            "line 1: unknown column “department”; the columns are: employee_id,",
        ),
        (
            HEADER.replace("exercise_price,", "").encode() + b"\n",
            "line 1: the column “exercise_price” is missing from the header.",
        ),
        (
            (HEADER + ",shares").encode() + b"\n",
            "line 1: the column “shares” appears twice in the header.",
        ),
        (
            HEADER.replace(",schedule", "")
            .replace(",immediate_shares,cliff_months,vesting_months,every_months", "")
            .encode()
            + b"\n",
            "line 1: the header needs at least one of the columns schedule, immediate_shares",
        ),
        (
            (HEADER + "\nV-1,Ann Lee,1,000\n").encode(),
            "line 2: expected 18 values, one per column of the header, found 4",
        ),
    ],
)
def test_a_file_that_cannot_be_read_is_refused_with_a_clear_message(
    grant, tmp_path, content, message
):
    path = tmp_path / "grants.csv"
    path.write_bytes(content)
    _, err = refused(str(path))
    assert message in err


def test_an_oversized_file_is_refused(grant, tmp_path, monkeypatch):
    monkeypatch.setattr("grants.imports.MAX_BYTES", 1024 * 1024)
    path = csv_file(tmp_path, *[line(number=f"G-{n:05d}") for n in range(12_000)])
    _, err = refused(path)
    assert "MB; the limit is 1 MB. Split it into smaller files." in err


def test_column_names_are_read_whatever_their_case_spacing_and_order(grant, tmp_path):
    header = "Grant Number,Employee-ID,Legal Name,Type,Grant Date,Shares,Exercise Price,"
    header += "Term End,Plan,Schedule"
    path = csv_file(
        tmp_path,
        f"G-0001,V-3001,Ann Lee,iso,2007-03-01,1000,1.85,2017-03-01,{PLAN},2007-03-01:1000",
        header=header,
    )
    run(path)
    assert Grant.objects.get(number="G-0001").option_type == "ISO"


def test_a_missing_file_is_refused(grant, tmp_path):
    with pytest.raises(CommandError, match=r"Cannot read .*missing\.csv: No such file"):
        run(str(tmp_path / "missing.csv"))


# --------------------------------------------------------------------------- options


def test_a_dry_run_reports_and_writes_nothing(grant, tmp_path):
    path = csv_file(tmp_path, line(number="G-0001"), line(number="G-0002", employee_id="V-3002"))
    with changes_nothing(grant):
        optionees = Optionee.objects.count()
        out, err = run(path, "--dry-run")
        assert Optionee.objects.count() == optionees
    assert err == ""
    assert "(dry run: nothing was committed or sent)" in out
    assert "Line 2: grant G-0001 would be imported: 48,000 shares to Ann Lee (new optionee)" in out
    assert "grants imported: 2" in out
    out, _ = run(path)
    assert "Line 2: grant G-0001 imported" in out
    assert Grant.objects.filter(number__in=["G-0001", "G-0002"]).count() == 2


def test_a_dry_run_of_a_bad_file_fails_too(grant, tmp_path):
    _, err = refused(csv_file(tmp_path, line(shares="-5")), "--dry-run")
    assert "line 2: shares: -5 is negative" in err


def test_with_several_companies_the_company_is_named(grant, tmp_path):
    other = CompanyFactory(name="Other Corp.")
    Plan.objects.create(company=other, name=PLAN, share_reserve=1_000_000)
    path = csv_file(tmp_path, line())
    with pytest.raises(CommandError, match="several companies; give --company"):
        run(path)
    with pytest.raises(CommandError, match="There is no company named “Nope”"):
        run(path, "--company", "Nope")
    run(path, "--company", "Other Corp.")
    assert Grant.objects.get(number="G-0001").company == other
    assert Optionee.objects.get(employee_id="V-3001").company == other


def test_without_a_company_nothing_can_be_imported(db, tmp_path):
    with pytest.raises(CommandError, match="The book has no company yet"):
        run(csv_file(tmp_path, line()))


def test_the_shape_is_given_in_whole_months(grant, tmp_path):
    _, err = refused(csv_file(tmp_path, line(cliff="1.5", email="not-an-email")))
    assert "line 2: cliff_months: “1.5” is not a whole number of months, such as 12." in err
    assert "line 2: email: Enter a valid email address." in err


# --------------------------------------------------------------------------- in bulk


def many_lines(count: int, *, plan: str = "Big Plan", start: int = 1) -> list[str]:
    """``count`` good lines of varied shapes: mostly new optionees (two grants each), some
    for the seed optionee, some with explicit installments."""
    lines = []
    for n in range(start, start + count):
        shares = 1_000 * (1 + n % 7)
        cells = {"number": f"B-{n:05d}", "plan": plan, "shares": str(shares)}
        if n % 5 == 0:
            cells |= {"employee_id": "V-0001", "legal_name": "James R. Akridge", "email": ""}
        else:
            person = n // 2
            cells |= {
                "employee_id": f"N-{person:05d}",
                "legal_name": f"Person {person}",
                "email": f"person{person}@example.com",
            }
        if n % 3 == 0:
            half = shares // 2
            cells |= {
                "cliff": "",
                "vesting": "",
                "every": "",
                "schedule": f"2008-03-01:{half};2009-03-01:{shares - half}",
            }
        else:
            cells |= {"cliff": str(12 * (n % 2)), "vesting": "48", "every": "3"}
        lines.append(line(**cells))
    return lines


def test_the_queries_of_an_import_do_not_grow_with_its_lines(grant, tmp_path):
    """Reads, locks and checks: the same queries for 30 lines as for 300. Inserts go in
    batches: on PostgreSQL a batch holds thousands of rows, so their number is constant too;
    SQLite caps a statement at 999 parameters, so there they are a few per hundred rows."""
    PlanFactory(company=grant.company, name="Big Plan", share_reserve=10**9)
    reads, everything = {}, {}
    for size, start in ((30, 1), (300, 1_001)):
        path = csv_file(tmp_path, *many_lines(size, start=start), name=f"{size}.csv")
        with CaptureQueriesContext(connection) as queries:
            out, err = run(path)
        assert err == ""
        assert f"grants imported: {size}" in out
        everything[size] = len(queries)
        reads[size] = sum(not q["sql"].startswith("INSERT") for q in queries)
    assert reads[300] <= reads[30] + 2, reads
    if connection.vendor == "postgresql":
        assert everything[300] <= everything[30] + 2, everything
    else:
        assert everything[300] - reads[300] < 300 / 5, everything
    assert Grant.objects.filter(number__startswith="B-").count() == 330


def test_bulk_created_grants_have_the_derived_fields_of_grant_create(grant, tmp_path):
    """The grants of a batch, and the same grants made one by one by Grant.create."""
    PlanFactory(company=grant.company, name="Big Plan", share_reserve=10**9)
    Termination.objects.create(optionee=grant.optionee, on=d("2009-06-30"), reason="other")
    run(csv_file(tmp_path, *many_lines(40)))
    fields = ["expires_on", "expiration_clause", "returned_shares", "status", "next_action_on"]
    imported, one_by_one = {}, {}
    for g in Grant.objects.filter(number__startswith="B-").select_related("plan", "optionee"):
        imported[g.number] = {f: getattr(g, f) for f in fields}
        made = Grant.create(
            number=f"C{g.number[1:]}",
            plan=g.plan,
            optionee=g.optionee,
            grant_date=g.grant_date,
            shares=g.shares,
            exercise_price=g.exercise_price,
            term_end=g.term_end,
            installments=[(i.vest_date, i.shares) for i in g.installments.all()],
            option_type=g.option_type,
        )
        one_by_one[g.number] = {f: getattr(made, f) for f in fields}
    assert len(imported) == 40
    assert imported == one_by_one
    assert {g["expiration_clause"] for g in imported.values()} == {"term", "window"}


def test_the_reserve_is_consumed_line_after_line_and_the_overflowing_line_is_reported(
    grant, tmp_path
):
    PlanFactory(company=grant.company, name="Small Plan", share_reserve=100_000)
    ClosingPrice.objects.create(company=grant.company, date=d("2007-03-02"), price=Decimal("3"))
    full = {"plan": "Small Plan", "cliff": "", "vesting": "", "every": ""}
    path = csv_file(
        tmp_path,
        line(number="G-0001", shares="30000", immediate="30000", **full),  # 70,000 left
        line(number="G-0002", shares="30000", immediate="30000", **full),  # 40,000 left
        # Refused for its price: it takes nothing from the reserve.
        line(
            number="G-0003",
            shares="30000",
            immediate="30000",
            grant_date="2007-03-02",
            price="1.85",
            **full,
        ),
        line(number="G-0004", shares="30000", immediate="30000", **full),  # 10,000 left
        line(number="G-0005", shares="20000", immediate="20000", **full),  # over: refused
        line(number="G-0006", shares="10000", immediate="10000", **full),  # exactly the rest
    )
    _, err = refused(path)
    assert "line 4: The exercise price $1.85 is below the fair market value $3" in err
    assert (
        "line 6: The plan has 10,000 shares left in its reserve; a grant of 20,000 shares "
        "would exceed it." in err
    )
    for ok in (2, 3, 5, 7):
        assert f"line {ok}:" not in err


def test_bulk_created_grants_installments_and_optionees_have_their_history(grant, tmp_path):
    PlanFactory(company=grant.company, name="Big Plan", share_reserve=10**9)
    run(csv_file(tmp_path, *many_lines(25)))
    grants = Grant.objects.filter(number__startswith="B-")
    assert grants.count() == 25
    history = Grant.history.filter(number__startswith="B-")
    assert history.count() == 25
    assert {(h.history_type, h.history_source) for h in history} == {("+", "command import_grants")}
    for g in grants:
        record = g.history.get()
        assert (record.expires_on, record.next_action_on, record.optionee_id) == (
            g.expires_on,
            g.next_action_on,
            g.optionee_id,
        )
    installments = Installment.objects.filter(grant__in=grants)
    assert installments.count() > 25
    installment_history = Installment.history.filter(id__in=installments.values("id"))
    assert installment_history.count() == installments.count()
    assert {h.history_source for h in installment_history} == {"command import_grants"}
    new = Optionee.objects.filter(employee_id__startswith="N-")
    assert new.count() == 13  # people 0..12 (the fifth lines are the seed optionee)
    assert Optionee.history.filter(id__in=new.values("id"), history_type="+").count() == 13


def test_one_bad_line_among_many_writes_nothing(grant, tmp_path):
    PlanFactory(company=grant.company, name="Big Plan", share_reserve=10**9)
    lines = many_lines(200)
    lines[148] = line(
        number="B-00149", employee_id="N-00074", legal_name="Person 74",
        email="person74@example.com", plan="Big Plan", shares="1000",
        cliff="", vesting="", every="", schedule="2008-03-01:999",
    )  # fmt: skip
    optionees = Optionee.objects.count()
    out, err = refused(csv_file(tmp_path, *lines))
    assert Optionee.objects.count() == optionees
    assert err.count("line ") == 1
    assert "line 150: The installments add up to 999 shares but the grant is for 1,000" in err
    assert "failed: 1" in out
    assert not Grant.objects.filter(number__startswith="B-").exists()


def test_create_many_checks_every_spec_and_writes_only_when_all_pass(grant):
    base = {
        "plan": grant.plan,
        "optionee": grant.optionee,
        "grant_date": d("2007-03-01"),
        "shares": 1_000,
        "exercise_price": Decimal("2"),
        "term_end": d("2017-03-01"),
        "installments": [(d("2008-03-01"), 1_000)],
    }
    stranger = Optionee(company=CompanyFactory(), legal_name="Stranger", employee_id="S-1")
    specs = [
        {**base, "number": "M-1"},
        {**base, "number": grant.number},
        {**base, "number": "M-1"},  # the same number twice in one batch
        {**base, "number": "M-4", "exercise_price": Decimal("-1")},
        {**base, "number": "M-5", "optionee": stranger},
        {**base, "number": "M-6", "term_end": d("2020-03-01")},
    ]
    with changes_nothing(grant):
        outcomes = granting.create_many(specs)
    assert isinstance(outcomes[0], Grant)
    assert outcomes[0].pk is None
    messages = [" ".join(o.messages) for o in outcomes[1:]]
    assert messages == [
        f"Grant number {grant.number} is already used; choose another.",
        "Grant number M-1 is already used; choose another.",
        "The exercise price must be above zero (it is $-1); enter the price per share the "
        "option is granted at.",
        "The optionee and the plan belong to different companies.",
        "The plan allows a term of at most 10 years: end it on or before 2017-03-01.",
    ]
    with changes_nothing(grant):
        assert all(isinstance(o, Grant) for o in granting.create_many(specs[:1], save=False))
    [made] = granting.create_many(specs[:1])
    assert made.pk is not None
    assert schedule_of("M-1") == [(d("2008-03-01"), 1_000)]
