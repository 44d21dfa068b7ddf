"""The Open Cap Format both ways: export_ocf, import_ocf and the round trip (issue 16)."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from grants.demo import load_demo
from grants.models import Company, Exercise, Grant, GrantTerms, Optionee, Plan, Termination
from grants.ocf import extensions
from grants.ocf.export import export_package
from grants.ocf.importing import ImportRefused, import_package
from grants.ocf.validation import validate_package
from grants.ocf.vesting import from_terms
from grants.schedules import build_schedule
from grants.seed import seed_grant
from tests.conftest import d

SEED = "VLNC-2005-0001"


def items(package: Path, name: str = "Transactions.ocf.json") -> list[dict]:
    return json.loads((package / name).read_text())["items"]


def of(package: Path, security: str) -> list[dict]:
    return [i for i in items(package) if i.get("security_id") == security]


def files(package: Path) -> dict[str, str]:
    """The package's files, the manifest without its generated_at."""
    out = {}
    for path in sorted(package.iterdir()):
        text = path.read_text()
        if path.name == "Manifest.ocf.json":
            manifest = json.loads(text)
            manifest.pop("generated_at")
            text = json.dumps(manifest)
        out[path.name] = text
    return out


def empty_the_book() -> None:
    """An empty database, inside the test's transaction. PostgreSQL will not truncate a
    table with deferred constraint checks pending: run them first."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    call_command("flush", interactive=False, verbosity=0)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")


def answers(days: list[dt.date]) -> dict:
    """What the domain API says of every grant: the questions asked of a book."""
    out = {}
    for grant in Grant.objects.order_by("number"):
        out[grant.number] = {
            "expires": grant.expiration_date(),
            "status": grant.status_on(grant.company.today()),
            "vested": [grant.vested_shares(day) for day in days],
            "exercisable": [grant.exercisable_shares(day) for day in days],
            "exercised": grant.exercised_shares(),
            "returned": grant.returned_shares,
            "form": grant.terms.name,
        }
    return out


@pytest.fixture
def demo(db):
    load_demo()
    call_command("expire_options", verbosity=0)
    return Company.objects.get()


# --------------------------------------------------------------------------- export


def test_the_demo_exports_as_a_valid_package(demo, tmp_path):
    summary = export_package(demo, tmp_path)
    assert validate_package(tmp_path) == []
    assert {p.name for p in tmp_path.iterdir()} == {
        "Manifest.ocf.json",
        "Stakeholders.ocf.json",
        "StockClasses.ocf.json",
        "StockPlans.ocf.json",
        "VestingTerms.ocf.json",
        "Transactions.ocf.json",
    }
    manifest = json.loads((tmp_path / "Manifest.ocf.json").read_text())
    assert manifest["issuer"]["legal_name"] == "Valence Technology, Inc."
    assert manifest["as_of"] == demo.today().isoformat()
    assert summary.counts["stakeholders"] == Optionee.objects.count()
    assert [p["plan_name"] for p in items(tmp_path, "StockPlans.ocf.json")] == [
        "Compensatory Benefit Plan"
    ]


def test_the_seed_grant_is_issued_with_its_schedule_windows_and_expiry(demo, tmp_path):
    export_package(demo, tmp_path)
    issuance, cancellation, back = of(tmp_path, SEED)
    assert issuance["object_type"] == "TX_EQUITY_COMPENSATION_ISSUANCE"
    assert issuance["compensation_type"] == "OPTION_NSO"
    assert issuance["quantity"] == "1000000"
    assert issuance["exercise_price"] == {"amount": "2.9900", "currency": "USD"}
    assert issuance["expiration_date"] == "2015-07-13"
    assert issuance["stakeholder_id"] == "stakeholder.V-0001"
    assert issuance["vestings"][:3] == [
        {"date": "2005-07-13", "amount": "100000"},
        {"date": "2006-07-13", "amount": "225000"},
        {"date": "2006-10-13", "amount": "56250"},
    ]
    assert len(issuance["vestings"]) == 14
    windows = {
        w["reason"]: (w["period"], w["period_type"])
        for w in issuance["termination_exercise_windows"]
    }
    assert windows["INVOLUNTARY_DEATH"] == (18, "MONTHS")
    assert windows["INVOLUNTARY_DISABILITY"] == (1, "YEARS")
    assert windows["VOLUNTARY_OTHER"] == (3, "MONTHS")
    # Nothing was exercised: all 1,000,000 shares lapsed at the end of the term.
    assert (cancellation["object_type"], cancellation["date"], cancellation["quantity"]) == (
        "TX_EQUITY_COMPENSATION_CANCELLATION",
        "2015-07-13",
        "1000000",
    )
    assert (back["object_type"], back["quantity"]) == ("TX_STOCK_PLAN_RETURN_TO_POOL", "1000000")


def test_a_termination_cancels_the_unvested_shares_on_its_day(demo, tmp_path):
    grant = Grant.objects.get(number="VLNC-DEMO-0102")
    termination = grant.optionee.active_termination()
    unvested = grant.shares - grant.vested_shares(termination.on)
    export_package(demo, tmp_path)
    cancellation = next(
        i for i in of(tmp_path, grant.number) if i["object_type"].endswith("CANCELLATION")
    )
    assert cancellation["date"] == termination.on.isoformat()
    assert cancellation["quantity"] == str(unvested)
    stakeholder = next(
        s
        for s in items(tmp_path, "Stakeholders.ocf.json")
        if s["name"]["legal_name"] == grant.optionee.legal_name
    )
    assert stakeholder["current_relationship"] == "EX_EMPLOYEE"
    assert extensions.one(stakeholder["comments"], "termination") == {
        "on": termination.on.isoformat(),
        "reason": "INVOLUNTARY_OTHER",
        "note": termination.note,
    }


def test_an_exercise_is_exported_with_its_date_and_shares(demo, tmp_path):
    exercise = Exercise.objects.get(grant__number="VLNC-DEMO-0103")
    export_package(demo, tmp_path)
    [made] = [i for i in of(tmp_path, "VLNC-DEMO-0103") if i["object_type"].endswith("EXERCISE")]
    assert made["date"] == exercise.exercise_date.isoformat()
    assert made["quantity"] == "5000"
    assert made["resulting_security_ids"] == []


def test_as_of_exports_the_book_as_it_stood_that_day(grant, tmp_path):
    company = grant.company
    company.formation_date = d("1989-01-01")
    company.save()
    grant.request_exercise(
        300_000, dt.datetime(2008, 3, 3, 10, tzinfo=dt.UTC), payment_method="check"
    )
    grant.exercises.get().mark_paid(d("2008-03-03"))
    grant.optionee.terminate(d("2009-06-30"), "death")
    export_package(company, tmp_path / "2008", as_of=d("2008-12-31"))
    export_package(company, tmp_path / "2010", as_of=d("2010-01-31"))
    export_package(company, tmp_path / "2004", as_of=d("2004-12-31"))
    kinds_2008 = [(i["object_type"], i["date"]) for i in of(tmp_path / "2008", SEED)]
    assert kinds_2008 == [
        ("TX_EQUITY_COMPENSATION_ISSUANCE", "2005-07-13"),
        ("TX_EQUITY_COMPENSATION_EXERCISE", "2008-03-03"),
    ]
    # By 2010 he had died (2009-06-30): the last installment (56,250, due 2009-07-13) was
    # cancelled that day; the window
    # after death (18 months, to 2010-12-30) was still open, so nothing had lapsed yet.
    later = of(tmp_path / "2010", SEED)
    assert [(i["object_type"], i["date"], i.get("quantity")) for i in later[1:]] == [
        ("TX_EQUITY_COMPENSATION_EXERCISE", "2008-03-03", "300000"),
        ("TX_EQUITY_COMPENSATION_CANCELLATION", "2009-06-30", "56250"),
        ("TX_STOCK_PLAN_RETURN_TO_POOL", "2009-06-30", "56250"),
    ]
    assert items(tmp_path / "2004") == []
    assert validate_package(tmp_path / "2010") == []


def test_export_without_a_formation_date_says_what_to_record(grant, tmp_path):
    with pytest.raises(CommandError, match="formation date"):
        call_command("export_ocf", str(tmp_path))
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------- round trip


def test_the_demo_round_trips_exactly(demo, tmp_path):
    days = [
        d("2005-07-13"),
        d("2008-01-01"),
        d("2015-07-13"),
        demo.today() - dt.timedelta(days=30),
        demo.today(),
    ]
    before = answers(days)
    call_command("export_ocf", str(tmp_path / "first"))
    empty_the_book()
    assert Grant.objects.count() == 0
    call_command("import_ocf", str(tmp_path / "first"))
    call_command("export_ocf", str(tmp_path / "second"))
    assert files(tmp_path / "first") == files(tmp_path / "second")
    assert answers(days) == before


def test_importing_the_same_package_twice_changes_nothing(demo, tmp_path, capsys):
    export_package(demo, tmp_path)
    empty_the_book()
    import_package(tmp_path)
    counts = [Grant.objects.count(), Exercise.objects.count(), Termination.objects.count()]
    capsys.readouterr()
    call_command("import_ocf", str(tmp_path))
    out = capsys.readouterr().out
    assert "created" not in out
    assert "already in the book, unchanged: 5 option grants" in out
    assert [Grant.objects.count(), Exercise.objects.count(), Termination.objects.count()] == counts


REASONS = [
    "VOLUNTARY_OTHER",
    "VOLUNTARY_RETIREMENT",
    "INVOLUNTARY_OTHER",
    "INVOLUNTARY_DEATH",
    "INVOLUNTARY_DISABILITY",
    "INVOLUNTARY_WITH_CAUSE",
]
book_shapes = st.lists(
    st.fixed_dictionaries(
        {
            "shares": st.integers(1_000, 90_000),
            "granted_days": st.integers(0, 3_000),
            "every": st.sampled_from([1, 3, 6, 12]),
            "cliff": st.sampled_from([0, 12]),
            "price": st.sampled_from(["1.25", "4.00", "7.3125"]),
            "ending": st.sampled_from(["none", "termination", "forfeiture"]),
            "reason": st.sampled_from(REASONS),
            "ends_after_days": st.integers(200, 2_000),
            "exercise": st.booleans(),
        }
    ),
    min_size=1,
    max_size=4,
)


@pytest.mark.django_db
@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(shapes=book_shapes)
def test_a_random_book_round_trips_and_answers_the_same(shapes, tmp_path_factory):
    empty_the_book()
    seed = seed_grant()
    company = seed.company
    company.formation_date = d("1990-01-01")
    company.save()
    start = d("2009-01-05")
    for k, shape in enumerate(shapes):
        granted = start + dt.timedelta(days=shape["granted_days"])
        optionee = Optionee.objects.create(
            company=company, legal_name=f"Holder {k}", employee_id=f"E{k}"
        )
        grant = Grant.create(
            number=f"RND-{k}",
            plan=seed.plan,
            optionee=optionee,
            grant_date=granted,
            shares=shape["shares"],
            exercise_price=Decimal(shape["price"]),
            term_end=granted.replace(year=granted.year + 10),
            installments=build_schedule(
                grant_date=granted,
                total_shares=shape["shares"],
                vesting_months=48,
                every_months=shape["every"],
                cliff_months=shape["cliff"],
            ),
            grant_terms=seed.terms,
        )
        ends = granted + dt.timedelta(days=shape["ends_after_days"])
        if shape["exercise"]:
            on = ends - dt.timedelta(days=1)
            room = grant.exercisable_shares(on)
            if room >= 1_000 and grant.company.calendar().is_business_day(on):
                grant.request_exercise(
                    1_000,
                    dt.datetime.combine(on, dt.time(16), tzinfo=ZoneInfo("America/Chicago")),
                    payment_method="regt",
                )
        if ends < company.today() and shape["ending"] == "termination":
            optionee.terminate(ends, shape["reason"])
        elif ends < company.today() and shape["ending"] == "forfeiture":
            grant.forfeit(ends, "Joined a competitor")
    call_command("expire_options", verbosity=0)
    days = [start + dt.timedelta(days=n) for n in range(0, 6_000, 400)]
    before = answers(days)
    first = tmp_path_factory.mktemp("first")
    second = tmp_path_factory.mktemp("second")
    export_package(company, first)
    assert validate_package(first) == []
    empty_the_book()
    import_package(first)
    export_package(Company.objects.get(), second)
    assert files(first) == files(second)
    assert answers(days) == before


# --------------------------------------------------------------------------- import


def write_package(
    folder: Path, transactions: list[dict], stakeholders=None, plans=None, terms=None
) -> Path:
    """A package written by hand, with the MD5s the manifest needs."""
    import hashlib

    folder.mkdir(parents=True, exist_ok=True)
    contents = {
        "Stakeholders.ocf.json": ("OCF_STAKEHOLDERS_FILE", stakeholders or [STAKEHOLDER]),
        "StockPlans.ocf.json": ("OCF_STOCK_PLANS_FILE", plans or [PLAN]),
        "VestingTerms.ocf.json": ("OCF_VESTING_TERMS_FILE", terms or []),
        "Transactions.ocf.json": ("OCF_TRANSACTIONS_FILE", transactions),
        "StockClasses.ocf.json": ("OCF_STOCK_CLASSES_FILE", [STOCK_CLASS]),
    }
    keys = {
        "Stakeholders.ocf.json": "stakeholders_files",
        "StockPlans.ocf.json": "stock_plans_files",
        "VestingTerms.ocf.json": "vesting_terms_files",
        "Transactions.ocf.json": "transactions_files",
        "StockClasses.ocf.json": "stock_classes_files",
    }
    manifest = {
        "ocf_version": "1.2.0",
        "file_type": "OCF_MANIFEST_FILE",
        "issuer": {
            "object_type": "ISSUER",
            "id": "issuer-1",
            "legal_name": "Northwind Traders, Inc.",
            "formation_date": "2001-03-01",
            "country_of_formation": "US",
        },
        "as_of": "2024-06-30",
        "generated_at": "2024-06-30T12:00:00Z",
        "stock_legend_templates_files": [],
        "valuations_files": [],
    }
    for name, (kind, rows) in contents.items():
        text = json.dumps({"file_type": kind, "items": rows})
        (folder / name).write_text(text)
        manifest[keys[name]] = [{"filepath": name, "md5": hashlib.md5(text.encode()).hexdigest()}]
    (folder / "Manifest.ocf.json").write_text(json.dumps(manifest))
    return folder


STAKEHOLDER = {
    "object_type": "STAKEHOLDER",
    "id": "sh-ana",
    "name": {"legal_name": "Ana Souza"},
    "stakeholder_type": "INDIVIDUAL",
    "issuer_assigned_id": "NW-17",
    "current_relationship": "EX_EMPLOYEE",
}
PLAN = {
    "object_type": "STOCK_PLAN",
    "id": "plan-2019",
    "plan_name": "2019 Equity Incentive Plan",
    "initial_shares_reserved": "1000000",
    "stock_class_ids": ["common-nw"],
}
STOCK_CLASS = {
    "object_type": "STOCK_CLASS",
    "id": "common-nw",
    "name": "Common",
    "class_type": "COMMON",
    "default_id_prefix": "CS-",
    "initial_shares_authorized": "50000000",
    "votes_per_share": "1",
    "seniority": "1",
}
FOUR_YEARS = {
    "object_type": "VESTING_TERMS",
    "id": "4yr-1yr-cliff",
    "name": "Four years, one-year cliff",
    "description": "25% after a year, then 1/48 monthly",
    "allocation_type": "CUMULATIVE_ROUNDING",
    "vesting_conditions": [
        {
            "id": "start",
            "quantity": "0",
            "trigger": {"type": "VESTING_START_DATE"},
            "next_condition_ids": ["cliff"],
        },
        {
            "id": "cliff",
            "portion": {"numerator": "12", "denominator": "48"},
            "trigger": {
                "type": "VESTING_SCHEDULE_RELATIVE",
                "period": {
                    "length": 12,
                    "type": "MONTHS",
                    "occurrences": 1,
                    "day_of_month": "VESTING_START_DAY_OR_LAST_DAY_OF_MONTH",
                },
                "relative_to_condition_id": "start",
            },
            "next_condition_ids": ["monthly"],
        },
        {
            "id": "monthly",
            "portion": {"numerator": "1", "denominator": "48"},
            "trigger": {
                "type": "VESTING_SCHEDULE_RELATIVE",
                "period": {
                    "length": 1,
                    "type": "MONTHS",
                    "occurrences": 36,
                    "day_of_month": "VESTING_START_DAY_OR_LAST_DAY_OF_MONTH",
                },
                "relative_to_condition_id": "cliff",
            },
            "next_condition_ids": [],
        },
    ],
}


def issuance(**changes) -> dict:
    return {
        "object_type": "TX_EQUITY_COMPENSATION_ISSUANCE",
        "id": "iss-1",
        "security_id": "sec-1",
        "custom_id": "NW-2019-7",
        "date": "2019-08-31",
        "stakeholder_id": "sh-ana",
        "stock_plan_id": "plan-2019",
        "compensation_type": "OPTION_ISO",
        "quantity": "4800",
        "exercise_price": {"amount": "3.10", "currency": "USD"},
        "vesting_terms_id": "4yr-1yr-cliff",
        "expiration_date": "2029-08-30",
        "termination_exercise_windows": [
            {"reason": "VOLUNTARY_OTHER", "period": 90, "period_type": "DAYS"},
            {"reason": "INVOLUNTARY_OTHER", "period": 90, "period_type": "DAYS"},
            {"reason": "INVOLUNTARY_DEATH", "period": 12, "period_type": "MONTHS"},
            {"reason": "INVOLUNTARY_DISABILITY", "period": 12, "period_type": "MONTHS"},
            {"reason": "INVOLUNTARY_WITH_CAUSE", "period": 0, "period_type": "DAYS"},
        ],
        "security_law_exemptions": [],
        **changes,
    }


def test_four_years_with_a_one_year_cliff_vests_a_quarter_then_monthly():
    schedule = from_terms(FOUR_YEARS | {"id": "t"}, 4800, d("2019-08-31"), {})
    assert schedule[0] == (d("2020-08-31"), 1200)
    assert schedule[1] == (d("2020-09-30"), 100)  # the 31st, or the month's last day
    assert schedule[-1] == (d("2023-08-31"), 100)
    assert len(schedule) == 37
    assert sum(s for _, s in schedule) == 4800


def test_a_package_from_another_system_is_read_and_answers_as_the_agreement_says(
    db, tmp_path, capsys
):
    package = write_package(
        tmp_path / "p",
        [
            issuance(),
            {
                "object_type": "TX_VESTING_START",
                "id": "vs-1",
                "security_id": "sec-1",
                "vesting_condition_id": "start",
                "date": "2019-08-31",
            },
            {
                "object_type": "TX_EQUITY_COMPENSATION_EXERCISE",
                "id": "ex-1",
                "security_id": "sec-1",
                "date": "2021-03-15",
                "quantity": "1500",
                "resulting_security_ids": ["cs-9"],
            },
            {
                "object_type": "TX_EQUITY_COMPENSATION_CANCELLATION",
                "id": "c-1",
                "security_id": "sec-1",
                "date": "2022-01-31",
                "quantity": "1900",
                "reason_text": "Unvested shares cancelled: the employee died",
            },
            {
                "object_type": "TX_STOCK_ISSUANCE",
                "id": "st-1",
                "security_id": "cs-9",
                "custom_id": "CS-9",
                "date": "2021-03-15",
                "stakeholder_id": "sh-ana",
                "stock_class_id": "common-nw",
                "share_price": {"amount": "3.10", "currency": "USD"},
                "quantity": "1500",
                "security_law_exemptions": [],
                "stock_legend_ids": [],
            },
        ],
        terms=[FOUR_YEARS],
    )
    call_command("import_ocf", str(package))
    out = capsys.readouterr().out
    assert "not imported (not an option): 1 TX_STOCK_ISSUANCE" in out
    assert "new agreement form “NW-2019 (imported from OCF)”" in out
    assert "VOLUNTARY_RETIREMENT (as VOLUNTARY_OTHER)" in out
    grant = Grant.objects.get(number="NW-2019-7")
    assert grant.option_type == Grant.Type.ISO
    assert grant.vested_shares(d("2020-08-30")) == 0
    assert grant.vested_shares(d("2020-08-31")) == 1200
    # Death on 2022-01-31: 1,200 + 17 x 100 vested (that day's included); the rest (1,900)
    # was cancelled.
    assert grant.vested_shares(d("2023-01-01")) == 2900
    assert grant.exercised_shares() == 1500
    assert grant.expiration_date() == d("2023-01-31")  # twelve months after death
    # That day has passed: it is stored as expired (without a notice: it ended elsewhere),
    # its 1,900 unvested and 1,400 unexercised shares back in the plan.
    assert grant.status == Grant.Status.EXPIRED
    assert grant.returned_shares == 3300
    assert grant.notices.count() == 0
    assert grant.optionee.active_termination().reason == "INVOLUNTARY_DEATH"
    assert grant.terms.minimum_exercise == 1


def bad(tmp_path, transactions, **kw):
    package = write_package(tmp_path / "bad", transactions, **kw)
    before = (
        Company.objects.count(),
        Grant.objects.count(),
        GrantTerms.objects.count(),
        Plan.objects.count(),
    )
    with pytest.raises(ImportRefused) as refused:
        import_package(package)
    after = (
        Company.objects.count(),
        Grant.objects.count(),
        GrantTerms.objects.count(),
        Plan.objects.count(),
    )
    assert after == before, "a refused package wrote something"
    return " ".join(refused.value.messages)


def test_a_schema_error_is_refused_naming_file_object_and_path(db, tmp_path):
    message = bad(tmp_path, [issuance(quantity=4800)], terms=[FOUR_YEARS])
    assert "Transactions.ocf.json, object 'iss-1', items[0].quantity" in message


def test_an_unknown_reference_is_refused(db, tmp_path):
    message = bad(tmp_path, [issuance(stakeholder_id="sh-nobody")], terms=[FOUR_YEARS])
    assert "items[0].stakeholder_id: no stakeholder has the id 'sh-nobody'" in message
    message = bad(
        tmp_path,
        [
            issuance(),
            {
                "object_type": "TX_EQUITY_COMPENSATION_EXERCISE",
                "id": "ex-1",
                "security_id": "sec-404",
                "date": "2021-03-15",
                "quantity": "10",
                "resulting_security_ids": [],
            },
        ],
        terms=[FOUR_YEARS],
    )
    assert "no issuance in the package has the security id 'sec-404'" in message


def test_a_schedule_that_does_not_add_up_is_refused(db, tmp_path):
    short = issuance(vestings=[{"date": "2020-08-31", "amount": "4000"}])
    del short["vesting_terms_id"]
    message = bad(tmp_path, [short])
    assert "the schedule vests 4,000 shares, the option is for 4,800" in message


def test_an_exercise_beyond_what_was_exercisable_is_refused(db, tmp_path):
    message = bad(
        tmp_path,
        [
            issuance(),
            {
                "object_type": "TX_EQUITY_COMPENSATION_EXERCISE",
                "id": "ex-1",
                "security_id": "sec-1",
                "date": "2020-09-01",
                "quantity": "1500",
                "resulting_security_ids": [],
            },
        ],
        terms=[FOUR_YEARS],
    )
    assert (
        "1,500 shares exercised on 2020-09-01, but only 1,200 of grant NW-2019-7 were exercisable"
        in message
    )


def test_a_plan_reserve_too_small_is_refused(db, tmp_path):
    message = bad(
        tmp_path,
        [issuance()],
        plans=[PLAN | {"initial_shares_reserved": "1000"}],
        terms=[FOUR_YEARS],
    )
    assert "NW-2019-7" in message or "reserve" in message


def test_import_ocf_command_prints_every_problem_and_fails(db, tmp_path, capsys):
    package = write_package(
        tmp_path / "bad",
        [issuance(stakeholder_id="sh-x", stock_plan_id="plan-x")],
        terms=[FOUR_YEARS],
    )
    with pytest.raises(CommandError, match="Nothing was written"):
        call_command("import_ocf", str(package))
    err = capsys.readouterr().err
    assert "no stakeholder has the id 'sh-x'" in err
    assert "no stock plan has the id 'plan-x'" in err


def test_another_systems_acceleration_on_death_vests_everything_that_day(db, tmp_path):
    package = write_package(
        tmp_path / "p",
        [
            issuance(),
            {
                "object_type": "TX_VESTING_ACCELERATION",
                "id": "acc-1",
                "security_id": "sec-1",
                "date": "2022-01-31",
                "quantity": "1900",
                "reason_text": "Full vesting on the optionee's death, as the agreement provides",
            },
        ],
        terms=[FOUR_YEARS],
    )
    import_package(package)
    grant = Grant.objects.get(number="NW-2019-7")
    assert grant.vested_shares(d("2022-01-30")) == 2800
    assert grant.vested_shares(d("2022-01-31")) == 4800
    assert grant.optionee.active_termination().reason == "INVOLUNTARY_DEATH"
    assert grant.expiration_date() == d("2023-01-31")


def test_an_acceleration_beyond_what_was_left_to_vest_is_refused(db, tmp_path):
    message = bad(
        tmp_path,
        [
            issuance(),
            {
                "object_type": "TX_VESTING_ACCELERATION",
                "id": "acc-1",
                "security_id": "sec-1",
                "date": "2022-01-31",
                "quantity": "5000",
                "reason_text": "Change in control",
            },
        ],
        terms=[FOUR_YEARS],
    )
    assert (
        "the acceleration of 5,000 shares on 2022-01-31 is more than was still to vest" in message
    )


def test_a_whole_remainder_cancelled_elsewhere_is_a_forfeiture_recorded_without_a_letter(
    db, tmp_path, mailoutbox
):
    package = write_package(
        tmp_path / "p",
        [
            issuance(),
            {
                "object_type": "TX_EQUITY_COMPENSATION_CANCELLATION",
                "id": "c-1",
                "security_id": "sec-1",
                "date": "2021-05-03",
                "quantity": "4800",
                "reason_text": "Clawback under the company's policy",
            },
        ],
        terms=[FOUR_YEARS],
    )
    import_package(package)
    grant = Grant.objects.get(number="NW-2019-7")
    assert grant.status == Grant.Status.FORFEITED
    assert grant.forfeited_on == d("2021-05-03")
    assert grant.forfeiture_reason == "Clawback under the company's policy"
    assert grant.returned_shares == 4800
    assert grant.exercisable_shares(d("2021-05-03")) == 0
    assert grant.notices.count() == 0
    assert mailoutbox == []
