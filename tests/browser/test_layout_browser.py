"""Every main page at a phone's width (390 x 844) and a laptop's (1280 x 800): nothing
scrolls sideways (a wide table scrolls inside its own box), the outstanding-options
report fits a laptop's screen whole, and the portal's links can be read against their
background (a contrast of at least 4.5:1, WCAG AA for text)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from grants.demo import ADMIN_PASSWORD, ADMIN_USERNAME, OPTIONEE_PASSWORD, load_demo
from grants.models import Grant, Termination
from tests.browser.conftest import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

VIEWPORTS = {"phone": (390, 844), "laptop": (1280, 800)}
OPTIONEE = "ewalsh"  # Eleanor Walsh: a grant, an exercise awaiting payment and its notice
GRANT = "VLNC-DEMO-0103"
PORTAL_PAGES = ["/", f"/grants/{GRANT}/", f"/grants/{GRANT}/exercise/", "/exercises/", "/notices/"]
ADMIN_PAGES = [
    "/admin/",
    "/admin/grants/grant/",
    "GRANT_PAGE",
    "/admin/grants/grant/?status__exact=granted",
    "/admin/grants/optionee/",
    "OPTIONEE_PAGE",
    "/admin/grants/exercise/",
    "/admin/grants/termination/",
    "/admin/reports/outstanding-options/",
    "/admin/reports/outstanding-options/?PERIOD",
    "/admin/reports/option-rollforward/",
    "/admin/reports/option-rollforward/?PERIOD",
    "/admin/reports/expense/",
    "/admin/reports/expense/?PERIOD&by=quarter",
    "/admin/reports/form-3921/",
    "/admin/grants/exercise/add/",
    "/admin/grants/termination/add/",
    "/admin/grants/grantterms/",
    "/admin/grants/grantterms/add/",
    "/admin/grants/company/",
    "/admin/grants/grantvaluation/",
]

# For each link shown (buttons aside): its colour and the colour of what it sits on.
LINK_COLOURS = """() => {
  const background = (element) => {
    for (let e = element; e; e = e.parentElement) {
      const colour = getComputedStyle(e).backgroundColor;
      if (colour !== "rgba(0, 0, 0, 0)" && colour !== "transparent") return colour;
    }
    return "rgb(255, 255, 255)";
  };
  return [...document.querySelectorAll("a:not(.btn)")]
    .filter((a) => a.offsetParent !== null && a.getBoundingClientRect().width > 1)
    .map((a) => [a.textContent.trim(), getComputedStyle(a).color, background(a)]);
}"""


@pytest.fixture
def demo():
    load_demo()


# What sticks out past the window's right edge, itself or by its content (a line that
# cannot wrap), innermost first: to say why a page scrolls sideways.
STICKING_OUT = """() => {
  const edge = (e) => e.getBoundingClientRect().left + e.scrollWidth;
  const out = (e) => edge(e) > window.innerWidth + 0.5;
  return [...document.querySelectorAll("body *")]
    .filter((e) => out(e) && ![...e.children].some(out))
    .slice(0, 5)
    .map((e) => `${e.tagName} ${e.className} “${e.textContent.trim().slice(0, 30)}” to ${edge(e)}`);
}"""


def sideways(page, path: str) -> list[str]:
    """Why ``path`` scrolls sideways, or nothing when it does not."""
    scroll, width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    if scroll <= width:
        return []
    return [f"{path}: {scroll} px wide in a {width} px window ({page.evaluate(STICKING_OUT)})"]


def open_page(browser, live_server, viewport, username, password, admin=False):
    width, height = VIEWPORTS[viewport]
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    page.set_default_timeout(15_000)
    if admin:
        page.goto(f"{live_server.url}/admin/login/")
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Log in").click()
        expect(page.get_by_role("heading", name="Stock plan back office")).to_be_visible()
    else:
        sign_in(page, live_server, username, password)
        expect(page.get_by_role("heading", name="My stock options")).to_be_visible()
    return context, page


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_no_portal_page_scrolls_sideways(browser, live_server, demo, viewport):
    context, page = open_page(browser, live_server, viewport, OPTIONEE, OPTIONEE_PASSWORD)
    wide = []
    for path in PORTAL_PAGES:
        response = page.goto(f"{live_server.url}{path}")
        assert response.status == 200, path
        wide += sideways(page, path)
    context.close()
    assert wide == []


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_no_back_office_page_scrolls_sideways(browser, live_server, demo, viewport):
    context, page = open_page(
        browser, live_server, viewport, ADMIN_USERNAME, ADMIN_PASSWORD, admin=True
    )
    grant = Grant.objects.get(number=GRANT)
    leaver = Termination.objects.get().optionee  # the optionee page with its history tables
    wide = []
    for path in ADMIN_PAGES:
        path = path.replace("GRANT_PAGE", f"/admin/grants/grant/{grant.pk}/change/")
        path = path.replace("OPTIONEE_PAGE", f"/admin/grants/optionee/{leaver.pk}/change/")
        path = path.replace("PERIOD", f"company={grant.company.pk}&start=2005-01-01&end=2010-12-31")
        response = page.goto(f"{live_server.url}{path}")
        assert response.status == 200, path
        wide += sideways(page, path)
    context.close()
    assert wide == []


def test_the_outstanding_options_report_fits_a_laptop_screen(browser, live_server, demo):
    context, page = open_page(
        browser, live_server, "laptop", ADMIN_USERNAME, ADMIN_PASSWORD, admin=True
    )
    page.goto(f"{live_server.url}/admin/reports/outstanding-options/")
    expect(page.locator("#outstanding-report")).to_have_count(0)  # runs when asked for
    page.get_by_role("button", name="Show report").click()
    table = page.locator("#outstanding-report")
    expect(table).to_be_visible()
    box = table.bounding_box()
    assert box["x"] >= 0
    assert box["x"] + box["width"] <= 1280, box
    inner, shown = table.evaluate("t => [t.parentElement.scrollWidth, t.parentElement.clientWidth]")
    assert inner <= shown, "the report scrolls inside its box at 1280 pixels"
    context.close()


def contrast(foreground: str, background: str) -> float:
    """WCAG 2's contrast ratio of two CSS rgb()/rgba() colours (the foreground's alpha laid
    over the background)."""

    def channels(colour: str) -> list[float]:
        values = [float(v) for v in colour[colour.index("(") + 1 : -1].split(",")]
        return values + [1.0] * (4 - len(values))

    def luminance(rgb) -> float:
        def linear(c: float) -> float:
            c /= 255
            return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

        r, g, b = (linear(c) for c in rgb)
        return 0.2126 * r + 0.7152 * g + 0.0722 * b

    *front, alpha = channels(foreground)
    back = channels(background)[:3]
    shown = [alpha * f + (1 - alpha) * b for f, b in zip(front, back, strict=True)]
    lighter, darker = sorted((luminance(shown), luminance(back)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def test_contrast_is_computed_as_wcag_does():
    assert round(contrast("rgb(0, 0, 0)", "rgb(255, 255, 255)"), 1) == 21.0
    assert round(contrast("rgb(13, 110, 253)", "rgb(248, 249, 250)"), 2) == 4.27


def test_every_portal_link_can_be_read_against_its_background(browser, live_server, demo):
    context, page = open_page(browser, live_server, "laptop", OPTIONEE, OPTIONEE_PASSWORD)
    faint = []
    for path in [*PORTAL_PAGES, f"/grants/{GRANT}/agreement/"]:
        page.goto(f"{live_server.url}{path}")
        for text, colour, background in page.evaluate(LINK_COLOURS):
            ratio = contrast(colour, background)
            if ratio < 4.5:
                faint.append(f"{path} “{text}”: {colour} on {background}, {ratio:.2f}:1")
    context.close()
    assert faint == []
