"""A stock administrator at a browser: sign in to the back office, create a grant with its
schedule, record a refused and an accepted exercise, record a termination."""

import re

import pytest
from playwright.sync_api import expect

from grants import rules
from grants.demo import ADMIN_PASSWORD, ADMIN_USERNAME, load_demo
from grants.models import Exercise, Grant, GrantTerms, Notice, Optionee, Termination

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def demo():
    load_demo()


@pytest.fixture
def admin_page(page, live_server, demo):
    """The stock administrator signed in through the admin's own login form."""
    page.set_default_timeout(10_000)
    page.goto(f"{live_server.url}/admin/")
    expect(page.get_by_role("banner")).to_contain_text("Equity administration")
    page.get_by_label("Username").fill(ADMIN_USERNAME)
    page.get_by_label("Password").fill(ADMIN_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Stock plan back office")).to_be_visible()
    return page


def open_changelist(page, name: str) -> None:
    """From the admin index (where the dashboard is), open one model's list."""
    page.get_by_role("link", name=name, exact=True).click()


def test_sign_in_and_see_the_dashboard(admin_page, screenshot):
    page = admin_page
    pending = page.get_by_role("table", name=re.compile("Exercises awaiting payment"))
    expect(pending).to_contain_text("VLNC-DEMO-0103")
    expect(pending).to_contain_text("Eleanor Walsh")
    windows = page.get_by_role("table", name=re.compile("Terminations inside their exercise"))
    expect(windows.get_by_role("link", name="Thomas Nguyen")).to_be_visible()
    expect(page.get_by_role("table", name=re.compile("Grants that expire"))).to_be_visible()
    reserves = page.get_by_role("table", name="Plan reserves")
    expect(reserves.get_by_role("link", name="Compensatory Benefit Plan")).to_be_visible()
    # A number is never broken across lines ("20,000,00" over "0").
    expect(reserves.get_by_role("cell", name="20,000,000")).to_have_css("white-space", "nowrap")
    expect(page.get_by_role("link", name="Outstanding options")).to_be_visible()
    screenshot("admin-dashboard")


def test_create_a_grant_with_a_schedule_shape(admin_page, screenshot):
    page = admin_page
    open_changelist(page, "Grants")
    page.get_by_role("link", name="Add grant").click()
    expect(page.get_by_role("heading", name="Add grant")).to_be_visible()

    page.get_by_label("Grant number").fill("VLNC-2024-0201")
    # The optionee is searched as the administrator types (the admin's autocomplete).
    page.locator(".field-optionee").get_by_role("combobox").click()
    page.keyboard.type("Garcia")  # into the search box the click opened and focused
    page.get_by_role("option", name="Maria Garcia").click()
    page.get_by_label("Plan").select_option(label="Compensatory Benefit Plan")
    expect(page.get_by_label("Agreement form")).to_have_value(
        str(GrantTerms.objects.get(name="Valence 2005 non-qualified stock option").pk)
    )
    page.get_by_label("Grant date").fill("2024-01-15")
    page.get_by_label("Shares granted").fill("12,000")
    page.get_by_label("Exercise price per share").fill("5.50")
    page.get_by_label("End of term").fill("2034-01-15")
    expect(page.get_by_label("A common shape")).to_be_checked()
    page.get_by_label("Immediate tranche").fill("0")
    page.get_by_label("Cliff (months)").fill("12")
    page.get_by_label("Vesting period (months)").fill("48")
    page.get_by_label(re.compile(r"^Installments")).select_option(label="Every month")

    page.get_by_role("button", name="Preview schedule").click()
    preview = page.get_by_role("table").filter(has_text="Vesting date")
    expect(preview.get_by_role("row")).to_have_count(1 + 37 + 1)  # head, rows, total
    expect(preview.get_by_role("row").nth(1)).to_have_text(re.compile(r"1\s*2025-01-15\s*3,000"))
    expect(preview.get_by_role("row").nth(37)).to_have_text(
        re.compile(r"37\s*2028-01-15\s*250\s*12,000")
    )
    expect(preview).to_contain_text("Total of 37 installments (grant: 12,000 shares)")
    assert not Grant.objects.filter(number="VLNC-2024-0201").exists()
    screenshot("admin-grant-add-preview")

    page.get_by_role("button", name="Save grant").click()
    expect(
        page.get_by_text("Grant VLNC-2024-0201 was created: 12,000 shares in 37 installments.")
    ).to_be_visible()
    expect(page.get_by_role("heading", name="Installment schedule")).to_be_visible()
    schedule = page.locator("#grant-schedule").get_by_role("table")
    expect(schedule.get_by_role("row")).to_have_count(1 + 37)
    expect(schedule.get_by_role("row").nth(1)).to_have_text(re.compile(r"2025-01-15\s*3,000"))
    grant = Grant.objects.get(number="VLNC-2024-0201")
    assert (grant.optionee.legal_name, grant.shares, grant.installments.count()) == (
        "Maria Garcia",
        12_000,
        37,
    )
    screenshot("admin-grant-created")


def test_a_refused_exercise_then_an_accepted_one(admin_page, screenshot):
    page = admin_page
    open_changelist(page, "Exercises")
    page.get_by_role("link", name="Add exercise").click()
    expect(page.get_by_role("heading", name="Record a notice of exercise")).to_be_visible()

    # The grant is searched as the administrator types (a book may hold a million).
    page.locator(".field-grant .select2-selection").click()  # once the search box is drawn
    page.keyboard.type("Akridge")  # found by the holder's name, and says whose it is
    page.get_by_role("option", name="VLNC-2005-0001 — James R. Akridge").click()
    page.get_by_label("Date received").fill("2005-08-01")
    page.get_by_label("Number of shares").fill("999")
    page.get_by_label("Cash", exact=True).check()
    exercises, notices = Exercise.objects.count(), Notice.objects.count()
    page.get_by_role("button", name="Record exercise").click()
    expect(
        page.get_by_text("The minimum exercise is 1,000 shares; 999 is allowed only")
    ).to_be_visible()
    assert (Exercise.objects.count(), Notice.objects.count()) == (exercises, notices)

    page.get_by_label("Number of shares").fill("1,000")
    page.get_by_role("button", name="Preview", exact=True).click()
    expect(page.get_by_role("heading", name="Preview (nothing saved)")).to_be_visible()
    expect(page.get_by_role("row", name=re.compile("^Aggregate price"))).to_contain_text(
        "$2,990.00"
    )
    expect(page.get_by_role("row", name=re.compile("^Exercise date"))).to_contain_text("2005-08-01")
    assert Exercise.objects.count() == exercises
    screenshot("admin-exercise-preview")

    expect(page.get_by_role("row", name=re.compile("^What it makes"))).to_contain_text(
        "this notice reserves the 1,000 shares"
    )
    page.get_by_role("button", name="Record exercise").click()
    expect(
        page.get_by_text(
            "Notice of exercise of 1,000 shares of VLNC-2005-0001 recorded as a pending "
            "request, counting from 2005-08-01"
        )
    ).to_be_visible()
    expect(page.get_by_role("heading", name="Payment, issue and cancellation")).to_be_visible()
    expect(page.get_by_role("button", name="Mark payment received")).to_be_visible()
    exercise = Exercise.objects.get(grant__number="VLNC-2005-0001")
    assert (exercise.shares, exercise.status) == (1_000, Exercise.Status.REQUESTED)
    assert page.url.endswith(f"/admin/grants/exercise/{exercise.pk}/change/")


def test_record_a_termination_and_see_the_new_expiration(admin_page, screenshot):
    page = admin_page
    garcia = Optionee.objects.get(legal_name="Maria Garcia")
    today = garcia.company.today()
    new_expiration = rules.add_months(today, 3)

    open_changelist(page, "Optionees")
    page.get_by_role("link", name="Maria Garcia").click()
    expect(page.get_by_text("In continuous service.")).to_be_visible()
    page.get_by_role("link", name="Record a termination").click()
    expect(page.get_by_role("heading", name="Record a termination of service")).to_be_visible()
    expect(page.get_by_label("Optionee")).to_have_value(str(garcia.pk))
    page.get_by_label("Termination date").fill(f"{today:%Y-%m-%d}")
    expect(page.get_by_label("Involuntary: other reason, or none")).to_be_checked()
    page.get_by_role("button", name="Preview").click()

    effect = page.get_by_role("row", name=re.compile("^VLNC-DEMO-0101"))
    expect(effect.get_by_role("cell").nth(6)).to_have_text(f"{new_expiration:%Y-%m-%d}")
    expect(effect.get_by_role("cell").nth(6)).to_have_css("white-space", "nowrap")
    expect(effect.get_by_role("cell").nth(7)).to_have_text(
        f"3 months after termination on {today:%Y-%m-%d} (involuntary termination window)."
    )
    assert not Termination.objects.filter(optionee=garcia).exists()
    screenshot("admin-termination-preview")

    page.get_by_role("button", name="Confirm termination").click()
    expect(
        page.get_by_text(f"Termination of Maria Garcia on {today:%Y-%m-%d} recorded")
    ).to_be_visible()
    expect(page.get_by_text(f"Service ended on {today:%Y-%m-%d}")).to_be_visible()
    grants = page.locator("#optionee-grants")
    expect(grants.get_by_role("row", name=re.compile("^VLNC-DEMO-0101"))).to_contain_text(
        f"{new_expiration:%Y-%m-%d}"
    )
    grants.get_by_role("link", name="VLNC-DEMO-0101").click()
    expect(page.get_by_role("heading", name="Effective expiration")).to_be_visible()
    expect(page.locator("#grant-expiration")).to_contain_text(
        f"{new_expiration:%Y-%m-%d}: 3 months after termination on {today:%Y-%m-%d} "
        f"(involuntary termination window)."
    )
    assert Grant.objects.get(number="VLNC-DEMO-0101").expires_on == new_expiration
