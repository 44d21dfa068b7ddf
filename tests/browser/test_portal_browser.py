"""A person at a browser: sign in, read the dashboard, exercise, acknowledge."""

import re

import pytest
from playwright.sync_api import expect

from grants.demo import OPTIONEE_PASSWORD, load_demo
from grants.models import Acknowledgement, Exercise, Grant
from tests.browser.conftest import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def demo():
    load_demo()


def test_sign_in_dashboard_exercise_and_acknowledge(page, live_server, demo, screenshot):
    sign_in(page, live_server, "mgarcia", OPTIONEE_PASSWORD)
    expect(page.get_by_role("heading", name="My stock options")).to_be_visible()
    expect(page.get_by_text("Please read and acknowledge receipt")).to_be_visible()
    screenshot("portal-dashboard")

    page.get_by_role("link", name="Schedule and terms").click()
    expect(page.locator("svg.chart")).to_be_visible()
    screenshot("portal-grant")

    page.get_by_role("link", name="Exercise", exact=True).click()
    page.get_by_label("Number of shares").fill("1,000")
    page.get_by_label("Cash", exact=True).check()
    screenshot("portal-exercise-form")
    page.get_by_role("button", name="Review the exercise").click()
    expect(page.get_by_text("Aggregate exercise price")).to_be_visible()
    screenshot("portal-exercise-confirm")
    page.get_by_role("button", name="Submit notice of exercise").click()
    expect(
        page.get_by_text(re.compile("Your notice of exercise of 1,000 shares is recorded"))
    ).to_be_visible()
    screenshot("portal-exercise-recorded")
    grant = Grant.objects.get(number="VLNC-DEMO-0101")
    assert Exercise.objects.filter(grant=grant, shares=1_000).count() == 1

    page.get_by_role("status").get_by_role("link", name="grant VLNC-DEMO-0101").click()
    page.get_by_label(re.compile("receipt of the option grant")).check()
    page.get_by_label(re.compile("entire understanding")).check()
    page.get_by_role("button", name="Acknowledge").click()
    expect(
        page.get_by_text("your acknowledgement of grant VLNC-DEMO-0101 is recorded")
    ).to_be_visible()
    assert Acknowledgement.objects.filter(grant=grant).exists()


def test_a_refused_exercise_explains_itself(page, live_server, demo):
    sign_in(page, live_server, "rpatel", OPTIONEE_PASSWORD)
    page.goto(f"{live_server.url}/grants/VLNC-DEMO-0104/exercise/")
    page.get_by_label("Number of shares").fill("1.5")
    page.get_by_label("Check", exact=True).check()
    page.get_by_role("button", name="Review the exercise").click()
    expect(page.get_by_text("1.5 is not a whole number")).to_be_visible()


def test_the_portal_works_on_a_phone(browser, live_server, demo, tmp_path):
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    page = context.new_page()
    sign_in(page, live_server, "tnguyen", OPTIONEE_PASSWORD)
    expect(page.get_by_text(re.compile(r"\d+ days? left to exercise"))).to_be_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, "the page scrolls sideways on a phone"
    context.close()
