"""Agreement forms as data (DOMAIN.md, "Other agreements"): two agreements other than the
seed's, written as form files, imported with ``import_terms`` and run through the domain
API; dates and share counts worked out by hand from their text.

Form A, "Northwind 2010 employee option": 60 days after a termination for any reason but
retirement, disability, death and cause; a year after retirement or disability; 12 months
after death; nothing after a termination for cause (the option ends that day). Vesting
stops at termination. No tolling, no Section 16(b) extension. At least 100 shares at a
time, no exceptions.

Form B, "Contoso 2012 director option": 90 days after a termination for any reason but
death, disability and cause; full vesting on death, then 12 months; 6 months after
disability; nothing after cause. Net exercise allowed.
"""

from __future__ import annotations

import io
import json
from decimal import Decimal

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command

from grants import rules
from grants.models import ClosingPrice, Grant, GrantTerms, Notice
from grants.schedules import build_schedule
from tests.conftest import d
from tests.factories import OptioneeFactory

pytestmark = pytest.mark.django_db

REASONS_BUT = (
    "VOLUNTARY_OTHER",
    "VOLUNTARY_GOOD_CAUSE",
    "INVOLUNTARY_OTHER",
)

FORM_A = {
    "name": "Northwind 2010 employee option",
    "minimum_exercise": 100,
    "small_installment_exception": False,
    "final_exercise_exception": False,
    "termination_exercise_windows": [
        *({"reason": r, "period": 60, "period_type": "DAYS"} for r in REASONS_BUT),
        {"reason": "VOLUNTARY_RETIREMENT", "period": 1, "period_type": "YEARS"},
        {"reason": "INVOLUNTARY_DISABILITY", "period": 1, "period_type": "YEARS"},
        {"reason": "INVOLUNTARY_DEATH", "period": 12, "period_type": "MONTHS"},
        {"reason": "INVOLUNTARY_WITH_CAUSE", "period": 0, "period_type": "DAYS"},
    ],
    "vesting_on_termination": {},
    "registration_tolling": [],
    "section16_extension": None,
    "payment_methods": ["cash", "check"],
    "mail_notice_days": 3,
    "agreement_text": "NORTHWIND, INC. 2010 EMPLOYEE STOCK OPTION AGREEMENT\n\n"
    "5. The Option may be exercised within sixty (60) days after termination ...",
}

FORM_B = {
    "name": "Contoso 2012 director option",
    "minimum_exercise": 1,
    "small_installment_exception": False,
    "final_exercise_exception": False,
    "termination_exercise_windows": [
        *(
            {"reason": r, "period": 90, "period_type": "DAYS"}
            for r in (*REASONS_BUT, "VOLUNTARY_RETIREMENT")
        ),
        {"reason": "INVOLUNTARY_DISABILITY", "period": 6, "period_type": "MONTHS"},
        {"reason": "INVOLUNTARY_DEATH", "period": 12, "period_type": "MONTHS"},
        {"reason": "INVOLUNTARY_WITH_CAUSE", "period": 0, "period_type": "DAYS"},
    ],
    "vesting_on_termination": {"INVOLUNTARY_DEATH": "ACCELERATE_ALL"},
    "registration_tolling": [],
    "section16_extension": None,
    "payment_methods": ["cash", "check", "net"],
    "mail_notice_days": 5,
    "agreement_text": "CONTOSO CORPORATION DIRECTOR STOCK OPTION AGREEMENT\n\n"
    "In the event of the Director's death, the Option shall vest in full ...",
}


def import_form(tmp_path, form: dict) -> GrantTerms:
    path = tmp_path / "form.json"
    path.write_text(json.dumps(form))
    call_command("import_terms", str(path))
    return GrantTerms.objects.get(name=form["name"])


def grant_under(seed, form: GrantTerms, number: str, **changes) -> Grant:
    """48,000 shares granted 2008-03-15, a quarter vesting each anniversary, term 10 years."""
    optionee = changes.pop("optionee", None) or OptioneeFactory(
        company=seed.company, legal_name=f"Holder of {number}"
    )
    values = {
        "number": number,
        "plan": seed.plan,
        "optionee": optionee,
        "grant_date": d("2008-03-15"),
        "shares": 48_000,
        "exercise_price": Decimal("5.00"),
        "term_end": d("2018-03-15"),
        "installments": build_schedule(
            grant_date=d("2008-03-15"),
            total_shares=48_000,
            vesting_months=48,
            every_months=12,
            cliff_months=12,
        ),
        "grant_terms": form,
        **changes,
    }
    return Grant.create(**values)


@pytest.fixture
def form_a(grant, tmp_path):
    return import_form(tmp_path, FORM_A)


@pytest.fixture
def form_b(grant, tmp_path):
    return import_form(tmp_path, FORM_B)


# --------------------------------------------------------------------------- form A


def test_form_a_sixty_days_after_leaving_counted_in_calendar_days(grant, form_a):
    option = grant_under(grant, form_a, "NW-1")
    option.optionee.terminate(d("2010-01-31"), "VOLUNTARY_OTHER")
    option.refresh_from_db()
    # 2010-01-31 + 60 calendar days = 2010-04-01 (February 2010 has 28 days).
    assert option.expiration_date() == d("2010-04-01")
    assert option.vested_shares(d("2010-06-01")) == 12_000  # 2009-03-15 only; vesting stopped
    assert option.exercisable_shares(d("2010-04-01")) == 12_000
    assert option.exercisable_shares(d("2010-04-02")) == 0
    assert option.expiration().explanation == (
        "60 days after termination on 2010-01-31 (voluntary termination window)."
    )


def test_form_a_a_year_after_retirement(grant, form_a):
    option = grant_under(grant, form_a, "NW-2")
    option.optionee.terminate(d("2010-01-31"), "VOLUNTARY_RETIREMENT")
    option.refresh_from_db()
    assert option.expiration_date() == d("2011-01-31")
    assert option.expiration_clause == "window"
    assert option.exercisable_shares(d("2011-01-31")) == 12_000
    assert option.exercisable_shares(d("2011-02-01")) == 0
    assert option.forfeited_shares() == 36_000


def test_form_a_ends_on_the_day_of_a_termination_for_cause(grant, form_a):
    option = grant_under(grant, form_a, "NW-3")
    option.optionee.terminate(d("2010-01-31"), "INVOLUNTARY_WITH_CAUSE")
    assert option.expiration_date() == d("2010-01-31")
    assert option.exercisable_shares(d("2010-01-31")) == 12_000  # through that day's hours
    assert option.exercisable_shares(d("2010-02-01")) == 0


def test_form_a_is_not_tolled_by_a_registration_suspension(grant, form_a):
    """The seed's 5b(iii) tolling is the seed form's: form A does not list it."""
    option = grant_under(grant, form_a, "NW-4")
    grant.company.registration_suspensions.create(start=d("2010-02-01"), end=d("2010-02-28"))
    option.optionee.terminate(d("2010-01-31"), "INVOLUNTARY_OTHER")
    assert option.expiration_date() == d("2010-04-01")


def test_form_a_minimum_has_no_exceptions(grant, form_a):
    option = grant_under(grant, form_a, "NW-5")
    with pytest.raises(ValidationError) as refused:
        option.request_exercise(99, d("2009-06-01"), payment_method="check")
    assert "The minimum exercise is 100 shares." in refused.value.messages
    option.request_exercise(100, d("2009-06-01"), payment_method="check")


def test_the_old_short_reasons_are_still_accepted(grant, form_a):
    option = grant_under(grant, form_a, "NW-6")
    termination = option.optionee.terminate(d("2010-01-31"), "other")
    assert termination.reason == "INVOLUNTARY_OTHER"
    assert option.expiration_date() == d("2010-04-01")


def test_a_reason_no_one_knows_is_refused_and_nothing_is_recorded(grant, form_a):
    option = grant_under(grant, form_a, "NW-7")
    with pytest.raises(ValidationError) as refused:
        option.optionee.terminate(d("2010-01-31"), "LAYOFF")
    assert "INVOLUNTARY_OTHER" in str(refused.value)
    assert option.optionee.terminations.count() == 0


# --------------------------------------------------------------------------- form B


def test_form_b_full_vesting_on_death_then_twelve_months(grant, form_b):
    option = grant_under(grant, form_b, "CT-1")
    assert option.vested_shares(d("2010-06-30")) == 24_000
    option.optionee.terminate(d("2010-06-30"), "INVOLUNTARY_DEATH")
    option.refresh_from_db()
    assert option.vested_shares(d("2010-06-30")) == 48_000
    assert option.forfeited_shares() == 0
    assert option.expiration_date() == d("2011-06-30")
    assert option.exercisable_shares(d("2011-06-30")) == 48_000
    assert option.exercisable_shares(d("2011-07-01")) == 0
    assert option.returned_shares == 0


def test_form_b_vesting_stops_after_any_other_termination(grant, form_b):
    option = grant_under(grant, form_b, "CT-2")
    option.optionee.terminate(d("2010-06-30"), "INVOLUNTARY_DISABILITY")
    assert option.vested_shares(d("2010-12-31")) == 24_000
    assert option.expiration_date() == d("2010-12-30")  # 6 months after 2010-06-30


def test_form_b_death_window_never_runs_past_the_term(grant, form_b):
    option = grant_under(grant, form_b, "CT-3")
    option.optionee.terminate(d("2017-12-01"), "death")
    assert option.expiration_date() == d("2018-03-15")
    assert option.expiration().clause == "term"


def test_a_net_exercise_withholds_shares_rounded_up(grant, form_b):
    option = grant_under(grant, form_b, "CT-4")
    ClosingPrice.objects.create(company=grant.company, date=d("2009-06-01"), price="7.00")
    preview = option.preview_exercise(1_000, d("2009-06-01"), payment_method="net")
    # 1,000 x $5.00 = $5,000 at $7.00 a share: 714.29 shares, rounded up to 715.
    assert (preview.shares_withheld, preview.shares_issued) == (715, 285)
    assert preview.taxable_spread == Decimal("2000.00")
    exercise = option.request_exercise(1_000, d("2009-06-01"), payment_method="net")
    assert (exercise.shares, exercise.shares_withheld) == (1_000, 715)
    assert option.exercisable_shares(d("2009-06-01")) == 11_000


def test_a_net_exercise_out_of_the_money_or_not_in_the_form_is_refused(grant, form_a, form_b):
    under_b = grant_under(grant, form_b, "CT-5")
    ClosingPrice.objects.create(company=grant.company, date=d("2009-06-01"), price="4.00")
    with pytest.raises(ValidationError) as refused:
        under_b.preview_exercise(1_000, d("2009-06-01"), payment_method="net")
    assert refused.value.code == "net_not_in_the_money"
    under_a = grant_under(grant, form_a, "NW-8")
    with pytest.raises(ValidationError) as refused:
        under_a.request_exercise(1_000, d("2009-06-01"), payment_method="net")
    assert "Northwind 2010 employee option" in str(refused.value)
    assert under_a.exercises.count() == 0


# --------------------------------------------------------------------------- forfeiture


def test_a_forfeited_grant_ends_that_day_and_its_shares_go_back(grant, form_a, mailoutbox):
    option = grant_under(grant, form_a, "NW-9")
    option.request_exercise(5_000, d("2009-06-01"), payment_method="check", payment_received=True)
    assert option.exercisable_shares(d("2009-08-31")) == 7_000
    option.forfeit(d("2009-09-01"), "joined a competitor")
    option.refresh_from_db()
    assert option.status == Grant.Status.FORFEITED
    assert option.exercisable_shares(d("2009-08-31")) == 7_000  # the day before still counts
    assert option.exercisable_shares(d("2009-09-01")) == 0
    assert option.exercisable_shares(d("2010-06-01")) == 0
    assert option.vested_shares(d("2010-06-01")) == 12_000  # nothing vests after it
    assert option.returned_shares == 43_000  # every unexercised share
    assert option.exercises.get().status != "cancelled"  # the exercise before stands
    notice = Notice.objects.get(grant=option, kind=Notice.Kind.FORFEITED)
    assert "joined a competitor" in notice.body
    with pytest.raises(ValidationError):
        option.request_exercise(1_000, d("2009-09-02"), payment_method="check")
    assert list(_mismatches()) == []


def test_a_forfeiture_needs_a_reason_and_happens_once(grant, form_a):
    option = grant_under(grant, form_a, "NW-10")
    with pytest.raises(ValidationError):
        option.forfeit(d("2009-09-01"), "  ")
    option.forfeit(d("2009-09-01"), "cause found")
    with pytest.raises(ValidationError) as refused:
        option.forfeit(d("2009-09-02"), "again")
    assert refused.value.code == "already_ended"


# --------------------------------------------------------------------------- holds


def test_a_hold_refuses_exercises_inside_it_and_extends_nothing(grant, form_a):
    option = grant_under(grant, form_a, "NW-11")
    option.optionee.hold_exercise(d("2010-01-10"), d("2010-02-10"), "pending cause review")
    assert option.exercisable_shares(d("2010-01-20")) == 0
    with pytest.raises(ValidationError) as refused:
        option.request_exercise(1_000, d("2010-01-20"), payment_method="check")
    assert refused.value.code == "exercise_held"
    assert option.exercisable_shares(d("2010-02-11")) == 12_000
    option.optionee.terminate(d("2010-01-31"), "INVOLUNTARY_OTHER")
    assert option.expiration_date() == d("2010-04-01")  # the hold extends no window
    option.request_exercise(1_000, d("2010-02-11"), payment_method="check")


def test_an_open_hold_lasts_until_lifted(grant, form_a):
    option = grant_under(grant, form_a, "NW-12")
    hold = option.optionee.hold_exercise(d("2010-01-10"), why="pending cause review")
    assert option.exercisable_shares(d("2012-01-01")) == 0
    hold.end_on(d("2010-03-01"))
    assert option.exercisable_shares(d("2010-03-02")) == 12_000
    assert option.exercisable_shares(d("2010-03-15")) == 24_000
    subjects = list(
        Notice.objects.filter(optionee=option.optionee)
        .order_by("pk")
        .values_list("subject", flat=True)
    )
    assert subjects == [
        "Your option exercises are on hold",
        "The hold on your option exercises is lifted",
    ]


def _mismatches():
    from grants.books import Mismatch, check_books

    return (m for m in check_books(d("2026-01-01")) if isinstance(m, Mismatch))


def test_check_books_lists_an_exercise_inside_a_hold(grant, form_a):
    option = grant_under(grant, form_a, "NW-13")
    option.request_exercise(1_000, d("2010-01-20"), payment_method="check", payment_received=True)
    option.optionee.hold_exercise(d("2010-01-10"), d("2010-02-10"), "recorded late")
    [mismatch] = _mismatches()
    assert "while Holder of NW-13's exercises were held" in mismatch.problem


# --------------------------------------------------------------------------- form files


def domain_seed_form() -> dict:
    """The seed's form as DOMAIN.md prints it (its text elided there as "...")."""
    text = (settings.BASE_DIR.parent / "shared" / "DOMAIN.md").read_text()
    block = text[text.index("The seed's form, exported, reads:") :]
    block = block[block.index("```json") + len("```json") : block.index("```\n", 10)]
    return json.loads(block)


def export(name: str) -> str:
    out = io.StringIO()
    call_command("export_terms", name, stdout=out)
    return out.getvalue()


def test_the_seed_form_exports_as_domain_md_shows_it(grant):
    exported = json.loads(export(grant.terms.name))
    expected = domain_seed_form()
    assert list(exported) == list(expected)
    assert {**exported, "agreement_text": "..."} == expected
    seed_text = settings.BASE_DIR.parent / "shared" / "seed" / "stock-option-agreement.txt"
    assert exported["agreement_text"] == seed_text.read_text()


def test_an_exported_form_imports_back_unchanged(grant, form_b, tmp_path):
    for name in (grant.terms.name, form_b.name):
        text = export(name)
        path = tmp_path / "again.json"
        path.write_text(text)
        out = io.StringIO()
        call_command("import_terms", str(path), stdout=out)
        assert out.getvalue() == f"Agreement form “{name}”: unchanged.\n"
        assert export(name) == text


def test_a_form_file_may_leave_out_what_the_agreement_does_not_say(grant, tmp_path):
    """Only the name and the seven windows are required; the rest means "no such term"."""
    form = import_form(
        tmp_path, {k: FORM_A[k] for k in ("name", "termination_exercise_windows")}
    ).as_rules()
    assert form.minimum_exercise == 1
    assert not form.small_installment_exception
    assert not any(w.tolling or w.section16 for w in form.windows)
    assert form.payment_methods == ("cash", "check")


BAD_FILES = [
    ({"grace": 1}, "grace: unknown key"),
    (
        {"termination_exercise_windows": FORM_A["termination_exercise_windows"][:-1]},
        "termination_exercise_windows: no window for INVOLUNTARY_WITH_CAUSE",
    ),
    (
        {
            "termination_exercise_windows": [
                {**FORM_A["termination_exercise_windows"][0], "period": -1},
                *FORM_A["termination_exercise_windows"][1:],
            ]
        },
        "termination_exercise_windows[0].period: a whole number of 0 or more (not -1)",
    ),
    (
        {
            "termination_exercise_windows": [
                {**FORM_A["termination_exercise_windows"][0], "period": 1.5},
                *FORM_A["termination_exercise_windows"][1:],
            ]
        },
        "termination_exercise_windows[0].period: a whole number of 0 or more (not 1.5)",
    ),
    (
        {
            "termination_exercise_windows": [
                {**FORM_A["termination_exercise_windows"][0], "period_type": "WEEKS"},
                *FORM_A["termination_exercise_windows"][1:],
            ]
        },
        "termination_exercise_windows[0].period_type: “WEEKS” is not one of DAYS, MONTHS, YEARS",
    ),
    (
        {
            "termination_exercise_windows": [
                {**FORM_A["termination_exercise_windows"][0], "reason": "LAYOFF"},
                *FORM_A["termination_exercise_windows"][1:],
            ]
        },
        "termination_exercise_windows[0].reason: “LAYOFF” is not a termination reason",
    ),
    (
        {"registration_tolling": ["VOLUNTARY_OTHER", "RESIGNATION"]},
        "registration_tolling[1]: “RESIGNATION” is not a termination reason",
    ),
    (
        {"vesting_on_termination": {"DEATH": "ACCELERATE_ALL"}},
        "vesting_on_termination.DEATH: not a termination reason",
    ),
    ({"payment_methods": ["cash", "bitcoin"]}, "payment_methods[1]: “bitcoin” is not one of"),
]


@pytest.mark.parametrize(("change", "message"), BAD_FILES)
def test_a_bad_form_file_is_refused_naming_the_key_and_changes_nothing(
    grant, form_a, tmp_path, change, message
):
    before = export(form_a.name)
    count = GrantTerms.objects.count()
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({**FORM_A, "minimum_exercise": 5, **change}))
    err = io.StringIO()
    with pytest.raises(CommandError, match="nothing was imported"):
        call_command("import_terms", str(path), stderr=err)
    assert message in err.getvalue()
    assert export(form_a.name) == before
    assert GrantTerms.objects.count() == count


def test_a_form_in_use_is_not_changed_under_its_grants(grant, form_a, tmp_path):
    option = grant_under(grant, form_a, "NW-20")
    option.optionee.terminate(d("2010-01-31"), "VOLUNTARY_OTHER")
    path = tmp_path / "longer.json"
    longer = [
        {**w, "period": 90} if w["period"] == 60 else w
        for w in FORM_A["termination_exercise_windows"]
    ]
    path.write_text(json.dumps({**FORM_A, "termination_exercise_windows": longer}))
    err = io.StringIO()
    with pytest.raises(CommandError):
        call_command("import_terms", str(path), stderr=err)
    assert "NW-20: 2010-04-01 → 2010-05-01" in err.getvalue()
    option.refresh_from_db()
    assert option.expires_on == d("2010-04-01")


def test_terminating_takes_each_of_the_seven_reasons(grant, form_a):
    for i, reason in enumerate(rules.TERMINATION_REASONS):
        option = grant_under(grant, form_a, f"NW-R{i}")
        option.optionee.terminate(d("2010-01-31"), reason)
        assert option.expiration_date() == form_a.as_rules().window(reason).end(d("2010-01-31"))


@pytest.mark.parametrize(
    ("sample", "form"),
    [("agreement-form-60-days.json", FORM_A), ("agreement-form-vesting-on-death.json", FORM_B)],
)
def test_the_sample_form_files_in_the_docs_import(grant, sample, form):
    path = settings.BASE_DIR / "docs" / "samples" / sample
    call_command("import_terms", str(path), stdout=io.StringIO())
    exported = json.loads(export(form["name"]))

    def by_reason(windows):
        return sorted(windows, key=lambda w: w["reason"])

    windows = "termination_exercise_windows"
    assert by_reason(exported.pop(windows)) == by_reason(form[windows])
    assert exported == {k: v for k, v in form.items() if k != windows}


def test_section_16_numbers_without_reasons_round_trip(grant, tmp_path):
    """A form whose 16(b) numbers are kept while no window uses the extension (as the
    migration makes of old terms with the extension off) exports them, and imports back
    unchanged; an empty list reads as no extension."""
    form = import_form(
        tmp_path,
        {
            **FORM_A,
            "name": "Numbers kept",
            "section16_extension": {
                "reasons": [],
                "days_after_liability": 10,
                "cap_months": 6,
                "cap_days": 10,
            },
        },
    )
    text = export(form.name)
    assert json.loads(text)["section16_extension"]["cap_months"] == 6
    path = tmp_path / "again.json"
    path.write_text(text)
    out = io.StringIO()
    call_command("import_terms", str(path), stdout=out)
    assert "unchanged" in out.getvalue()
    empty = import_form(tmp_path, {**FORM_A, "name": "Empty list", "section16_extension": []})
    assert json.loads(export(empty.name))["section16_extension"] is None


def test_an_exercise_notice_received_before_the_forfeiture_still_counts(grant, form_a):
    option = grant_under(grant, form_a, "NW-30")
    option.forfeit(d("2009-09-01"), "cause found")
    exercise = option.request_exercise(1_000, d("2009-08-31"), payment_method="check")
    assert exercise.exercise_date == d("2009-08-31")
    with pytest.raises(ValidationError) as refused:
        option.request_exercise(1_000, d("2009-09-01"), payment_method="check")
    assert refused.value.code == "forfeited"
