"""Who reaches what: every URL of the portal and the back office, opened by five people.

The walk reads the URL resolver itself, so it reaches every route there is (the admin's
custom screens, its redirects and catch-all included) and fills each path parameter with
a real row of the demo book. Each route must have a line in the tables below saying what
each person gets; a route without one fails the test, so whoever adds a URL decides who
may open it. Only static and media files are left out, and nothing is posted (log-out
included: its GET is walked, and refused).

The people: nobody signed in; Maria Garcia (an optionee: grant VLNC-DEMO-0101 and the
exercise and notice in the portal's URLs are hers); Ravi Patel (another optionee); the
auditor (staff, Auditor role); the stock administrator (staff, Stock administrator role).

Decisions the tables record:
- Staff may use the portal with their own account; having no optionee record, they see an
  empty dashboard and empty lists, and anyone's grant, exercise or notice is a 404.
- Another person's grant, exercise or notice is a 404 (never a 403 that confirms it exists).
- An optionee in the back office is sent to its sign-in page, like someone signed out.
- The auditor reads every screen and history of the book (200) and is refused (403) every
  screen that writes; user accounts, groups, sign-in records and authenticator devices are
  not the book (404 on their app page, 403 on their screens).
- The stock administrator opens every screen of the book, reads (only) user accounts, and
  is refused what the app refuses everyone (deleting grants, editing recorded events).
- The second factor's pages pass signed-in staff straight on while ``ADMIN_REQUIRE_2FA``
  is off (the default); tests/test_two_factor.py walks them with it on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from dateutil.relativedelta import relativedelta
from django.conf import settings
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.urls import URLResolver, get_resolver, reverse
from django.urls.resolvers import RegexPattern
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django_otp.plugins.otp_totp.models import TOTPDevice

from grants.demo import load_demo
from grants.models import (
    Acknowledgement,
    Exercise,
    Grant,
    Notice,
    Optionee,
    RegistrationSuspension,
)
from tests.conftest import d
from tests.factories import SuccessorFactory

pytestmark = pytest.mark.django_db

PERSONAS = ("anonymous", "mgarcia", "rpatel", "auditor", "stockadmin")
OWN_GRANT = "VLNC-DEMO-0101"
OWNER = "Maria Garcia"
OWN_PAGES = {"grant_detail", "agreement", "acknowledge", "exercise", "exercise_detail"}

# What a person gets: a status code, or where a redirect leads.
SIGN_IN = "→ portal sign-in"  # /accounts/login/?next=<the URL asked for>
ADMIN_SIGN_IN = "→ admin sign-in"  # /admin/login/?next=<the URL asked for>
ADMIN_INDEX = "→ admin index"
CHANGE_PAGE = "→ change page"  # the admin's old object URL, sent on to <object>/change/

# --------------------------------------------------------------------------- the portal
#                                anonymous  mgarcia  rpatel  auditor  stockadmin
PORTAL = {
    "dashboard":                (SIGN_IN,   200,     200,    200,     200),
    "grant_detail":             (SIGN_IN,   200,     404,    404,     404),
    "agreement":                (SIGN_IN,   200,     404,    404,     404),
    "acknowledge":              (SIGN_IN,   200,     404,    404,     404),
    "exercise":                 (SIGN_IN,   200,     404,    404,     404),
    "exercise_list":            (SIGN_IN,   200,     200,    200,     200),
    "exercise_detail":          (SIGN_IN,   200,     404,    404,     404),
    "notice_list":              (SIGN_IN,   200,     200,    200,     200),
    "notice_detail":            (SIGN_IN,   200,     404,    404,     404),
    "change_address":           (SIGN_IN,   200,     200,    404,     404),
    "login":                    (200,       200,     200,    200,     200),
    "healthz":                  (200,       200,     200,    200,     200),
    "logout":                   (405,       405,     405,    405,     405),
    "signed_out":               (200,       "→ /",   "→ /",  "→ /",   "→ /"),
    "password_change":          (SIGN_IN,   200,     200,    200,     200),
    "password_change_done":     (SIGN_IN,   200,     200,    200,     200),
    "password_reset":           (200,       200,     200,    200,     200),
    "password_reset_done":      (200,       200,     200,    200,     200),
    "password_reset_confirm":   (200,       200,     200,    200,     200),  # a forged link
    "password_reset_complete":  (200,       200,     200,    200,     200),
}  # fmt: skip

# --------------------------------------------------------------------------- the admin site
NOT_STAFF = (ADMIN_SIGN_IN, ADMIN_SIGN_IN, ADMIN_SIGN_IN)
SITE = {
    "admin:index":                      (*NOT_STAFF, 200,         200),
    "admin:login":                      (200, 200, 200, ADMIN_INDEX, ADMIN_INDEX),
    "admin:logout":                     (ADMIN_INDEX, ADMIN_INDEX, ADMIN_INDEX, 405, 405),
    "admin:password_change":            (*NOT_STAFF, 200,         200),
    "admin:password_change_done":       (*NOT_STAFF, 200,         200),
    "admin:autocomplete":               (*NOT_STAFF, 403,         403),  # no field asked for
    "admin:jsi18n":                     (*NOT_STAFF, 200,         200),
    "admin:view_on_site":               (*NOT_STAFF, 404,         404),  # grants have no page
    "admin:report_outstanding_options": (*NOT_STAFF, 200,         200),
    "admin:report_option_rollforward":  (*NOT_STAFF, 200,         200),
    "admin:report_expense":             (*NOT_STAFF, 200,         200),
    "admin:report_form3921":            (*NOT_STAFF, 200,         200),
    "admin:otp_verify":                 (*NOT_STAFF, ADMIN_INDEX, ADMIN_INDEX),
    "admin:otp_enrol":                  (*NOT_STAFF, ADMIN_INDEX, ADMIN_INDEX),
    "/admin/(?P<url>.*)$":              (*NOT_STAFF, 404,         404),  # the catch-all
    "admin:app_list[grants]":           (*NOT_STAFF, 200,         200),
    "admin:app_list[auth]":             (*NOT_STAFF, 404,         200),
    "admin:app_list[axes]":             (*NOT_STAFF, 404,         404),
    "admin:app_list[otp_totp]":         (*NOT_STAFF, 404,         404),
}  # fmt: skip

# --------------------------------------------------------------------------- admin models
# Each model of the admin has an access class; its class says what each standard screen
# (list, add, change, history, delete, the old object URL) answers to each person.
READ = (*NOT_STAFF, 200, 200)
POST_ONLY = (*NOT_STAFF, 405, 405)  # a button on another screen; its GET is refused
AUDITOR_REFUSED = (*NOT_STAFF, 403, 200)
EVERYONE_REFUSED = (*NOT_STAFF, 403, 403)
TO_CHANGE_PAGE = (*NOT_STAFF, CHANGE_PAGE, CHANGE_PAGE)

BOOK = {  # the auditor reads, the stock administrator writes
    "changelist": READ, "change": READ, "history": READ, "simple_history": READ,
    "object": TO_CHANGE_PAGE, "add": AUDITOR_REFUSED, "delete": AUDITOR_REFUSED,
}  # fmt: skip
BOOK_KEPT = {**BOOK, "delete": EVERYONE_REFUSED}  # rows the record needs are never deleted
PORTAL_RECORDS = {**BOOK_KEPT, "add": EVERYONE_REFUSED}  # written in the portal only
SUPERUSERS = {  # not the book: superusers only
    **dict.fromkeys(BOOK, EVERYONE_REFUSED),
    "object": TO_CHANGE_PAGE,
}
ACCOUNTS = {  # the stock administrator sees who has an account, and changes none
    **SUPERUSERS,
    **dict.fromkeys(("changelist", "change", "history"), AUDITOR_REFUSED),
}

MODELS = {
    "grants.company": BOOK,  # its delete screen opens, and lists the rows protecting it
    "grants.plan": BOOK,
    "grants.grantterms": BOOK_KEPT,
    "grants.grant": BOOK_KEPT,
    "grants.grantvaluation": BOOK,  # recorded (and corrected) by the administrator
    "grants.exercise": BOOK_KEPT,  # "Add" opens the screen that records a notice
    "grants.optionee": BOOK,
    "grants.termination": BOOK_KEPT,  # "Add" opens the screen that previews and records
    "grants.notice": BOOK,  # a general letter; notices the verbs wrote are kept
    "grants.acknowledgement": PORTAL_RECORDS,
    # The first price is the one the demo grant was priced at: its delete screen refuses
    # and leads to its change page, which says so.
    "grants.closingprice": {**BOOK, "delete": (*NOT_STAFF, 403, CHANGE_PAGE)},
    "grants.registrationsuspension": BOOK_KEPT,
    "grants.section16window": BOOK_KEPT,
    "auth.user": ACCOUNTS,
    "auth.group": SUPERUSERS,
    "axes.accessattempt": SUPERUSERS,
    "axes.accesslog": SUPERUSERS,
    "axes.accessfailurelog": SUPERUSERS,
    "otp_totp.totpdevice": SUPERUSERS,
}

# The admin's own screens beyond the standard ones.
CUSTOM = {
    "admin:grants_exercise_mark_paid":          POST_ONLY,
    "admin:grants_exercise_issue_shares":       POST_ONLY,
    "admin:grants_exercise_cancel":             POST_ONLY,
    "admin:grants_exercise_review":             POST_ONLY,
    "admin:grants_grant_cancel":                POST_ONLY,
    "admin:grants_grant_forfeit":               AUDITOR_REFUSED,
    "admin:grants_optionee_hold":               AUDITOR_REFUSED,
    "admin:grants_optionee_lift_hold":          AUDITOR_REFUSED,
    "admin:grants_optionee_invite":             POST_ONLY,
    "admin:grants_optionee_change_role":        AUDITOR_REFUSED,
    "admin:grants_optionee_record_death":       AUDITOR_REFUSED,
    "admin:grants_termination_reverse":         AUDITOR_REFUSED,
    "admin:grants_notice_change_address":       AUDITOR_REFUSED,
    "admin:grants_notice_print":                READ,
    "admin:grants_closingprice_upload":         AUDITOR_REFUSED,
    "admin:grants_registrationsuspension_end":  AUDITOR_REFUSED,
    "admin:auth_user_password_change":          EVERYONE_REFUSED,
    "admin:otp_totp_totpdevice_config":         EVERYONE_REFUSED,
    "admin:otp_totp_totpdevice_qrcode":         EVERYONE_REFUSED,
}  # fmt: skip


# --------------------------------------------------------------------------- the book


@dataclass
class Book:
    """The demo book with a row of every model the admin shows. The portal's URLs point at
    Maria Garcia's grant, exercise and notice; the admin's at ``rows`` (a row its custom
    screens act on, such as a letter to print) or else the first row of the model."""

    grant: Grant
    exercise: Exercise
    notice: Notice
    users: dict
    rows: dict

    def row(self, model):
        row = self.rows.get(model) or model._default_manager.order_by("pk").first()
        assert row is not None, f"Add a {model._meta.verbose_name} to the `book` fixture."
        return row

    def value(self, name: str, argument: str, model):
        """The value of one path parameter of the route ``name``."""
        if model is not None and argument in ("object_id", "id", "pk"):
            return self.row(model).pk
        values = {
            ("grant_detail", "number"): self.grant.number,
            ("agreement", "number"): self.grant.number,
            ("acknowledge", "number"): self.grant.number,
            ("exercise", "number"): self.grant.number,
            ("exercise_detail", "pk"): self.exercise.pk,
            ("notice_detail", "pk"): self.notice.pk,
            ("password_reset_confirm", "uidb64"): urlsafe_base64_encode(
                force_bytes(self.grant.optionee.user_id)
            ),
            ("password_reset_confirm", "token"): "forged-token",
            ("admin:view_on_site", "content_type_id"): ContentType.objects.get_for_model(Grant).pk,
            ("admin:view_on_site", "object_id"): self.grant.pk,
        }
        assert (name, argument) in values, f"Teach this test the “{argument}” of {name}."
        return values[(name, argument)]


@pytest.fixture
def book(db) -> Book:
    return demo_book()


def demo_book() -> Book:
    load_demo()
    grant = Grant.objects.get(number=OWN_GRANT)
    garcia, company = grant.optionee, grant.company
    today = company.today()
    exercise = grant.request_exercise(1_000, today, payment_method="cash", by=garcia.user)
    letter = Notice.objects.create(
        company=company, optionee=garcia, grant=grant, direction=Notice.Direction.TO_OPTIONEE,
        method=Notice.Method.MAIL, subject="Annual statement", address=garcia.notice_address(),
        sent_on=today,
    )  # fmt: skip
    planned = company.suspend_registration(today + relativedelta(years=5), note="Planned")

    walsh = Optionee.objects.get(legal_name="Eleanor Walsh")
    walsh.record_section16_liability(d("2004-02-02"), d("2004-02-27"))
    SuccessorFactory(optionee=walsh)
    Acknowledgement.objects.create(grant=walsh.grants.get(), user=walsh.user, documents_version="1")
    users = {user.username: user for user in get_user_model().objects.all()}
    TOTPDevice.objects.create(user=users["stockadmin"], name="Phone", confirmed=False)
    sign_in = {"user_agent": "test", "ip_address": "127.0.0.1", "http_accept": "*/*"}
    AccessAttempt.objects.create(
        username="rpatel", path_info="/accounts/login/", get_data="", post_data="",
        failures_since_start=1, **sign_in,
    )  # fmt: skip
    AccessFailureLog.objects.create(username="rpatel", path_info="/accounts/login/", **sign_in)
    AccessLog.objects.create(username="mgarcia", path_info="/accounts/login/", **sign_in)
    return Book(
        grant=grant,
        exercise=exercise,
        notice=exercise.notice,
        users=users,
        rows={Grant: grant, Exercise: exercise, Notice: letter, RegistrationSuspension: planned},
    )


# --------------------------------------------------------------------------- the walk


@dataclass(frozen=True)
class Route:
    key: str  # its line in the tables: "admin:grants_grant_change", "grant_detail", ...
    url: str
    expected: tuple | None  # one outcome per person (PERSONAS), None: no line for it


def every_route(book: Book) -> list[Route]:
    """Every route the resolver has, its parameters filled from ``book``."""
    files = tuple(url for url in (settings.STATIC_URL, settings.MEDIA_URL) if url.strip("/"))
    routes = []
    for pattern, prefix, namespace in _patterns(get_resolver().url_patterns):
        if files and f"/{prefix}{pattern.pattern}".startswith(files):
            continue
        model = _admin_model(prefix)
        name = f"{namespace}:{pattern.name}" if namespace and pattern.name else pattern.name
        if name == "admin:app_list":
            for app_label in sorted({m._meta.app_label for m in admin.site._registry}):
                url = reverse(name, kwargs={"app_label": app_label})
                routes.append(_route(f"{name}[{app_label}]", url, None))
        elif name is not None:
            routes.append(
                _route(name, reverse(name, **_arguments(name, pattern, model, book)), model)
            )
        elif model is not None and str(pattern.pattern) == "<path:object_id>/":
            routes.append(_route("object", f"/{prefix}{book.row(model).pk}/", model))
        else:
            routes.append(_route(f"/{prefix}{pattern.pattern}", f"/{prefix}no-such-page/", None))
    return routes


def _patterns(patterns, prefix="", namespace=None):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _patterns(
                pattern.url_patterns, prefix + str(pattern.pattern), pattern.namespace or namespace
            )
        else:
            yield pattern, prefix, namespace


def _admin_model(prefix: str):
    """The model of an admin screen under ``admin/<app_label>/<model_name>/``."""
    match = re.fullmatch(r"admin/(\w+)/(\w+)/", prefix)
    labels = {m._meta.label_lower: m for m in admin.site._registry}
    return labels.get(".".join(match.groups())) if match else None


def _arguments(name: str, pattern, model, book: Book) -> dict:
    if isinstance(pattern.pattern, RegexPattern):
        if pattern.pattern.regex.groups == 0:
            return {}
        assert name.endswith("_simple_history"), f"Teach this test the arguments of {name}."
        row = book.row(model)
        return {"args": [row.pk, row.history.order_by("history_id").first().history_id]}
    return {
        "kwargs": {
            argument: book.value(name, argument, model) for argument in pattern.pattern.converters
        }
    }


def _route(name: str, url: str, model) -> Route:
    if model is None:
        return Route(name, url, {**PORTAL, **SITE}.get(name))
    if name in CUSTOM:
        return Route(name, url, CUSTOM[name])
    label = model._meta.label_lower
    kind = name.removeprefix(f"admin:{model._meta.app_label}_{model._meta.model_name}_")
    access = MODELS.get(label, {})
    return Route(f"{name} ({label})" if name == "object" else name, url, access.get(kind))


# --------------------------------------------------------------------------- outcomes


def outcome(response, url: str):
    """The status, or for a redirect where it leads, in the tables' words."""
    if response.status_code not in (301, 302):
        return response.status_code
    location = response["Location"]
    words = {
        f"{reverse('login')}?next={url}": SIGN_IN,
        f"{reverse('admin:login')}?next={url}": ADMIN_SIGN_IN,
        reverse("admin:index"): ADMIN_INDEX,
        f"{url}change/": CHANGE_PAGE,
        f"{url.removesuffix('delete/')}change/": CHANGE_PAGE,
    }
    return words.get(location, f"→ {location}")


def leaks(persona: str, route: Route, response) -> bool:
    """Whether a portal page shows Maria Garcia's grant or name to someone else."""
    if persona == "mgarcia" or route.key.startswith("admin:") or response.status_code != 200:
        return False
    html = response.content.decode()
    return OWN_GRANT in html or OWNER in html


@pytest.mark.parametrize("persona", PERSONAS)
def test_every_url_answers_each_person_as_the_tables_say(client, book, persona):
    column = PERSONAS.index(persona)
    if persona != "anonymous":
        client.force_login(book.users[persona])
    undecided, wrong, leaked = [], [], []
    for route in every_route(book):
        response = client.get(route.url)
        got = outcome(response, route.url)
        if route.expected is None:
            undecided.append(f"{route.key} {route.url}: {persona} gets {got!r}")
        elif got != route.expected[column]:
            wrong.append(
                f"{route.key} {route.url}: expected {route.expected[column]!r}, got {got!r}"
            )
        if leaks(persona, route, response):
            leaked.append(route.url)
    problems = [*wrong, *(f"{line} (no line in the tables: decide)" for line in undecided)]
    assert problems == [], "\n".join(problems)
    assert leaked == [], f"These pages show {OWNER}'s grant to {persona}"


def test_the_owners_pages_are_the_real_pages(client, book):
    """Maria Garcia's 200s are her pages (not an empty shell): each shows her grant."""
    client.force_login(book.users["mgarcia"])
    for route in every_route(book):
        if route.key in OWN_PAGES:
            response = client.get(route.url)
            assert response.status_code == 200, route.url
            assert OWN_GRANT in response.content.decode(), route.url


def test_the_tables_hold_every_route_and_nothing_else(book):
    keys = {route.key for route in every_route(book)}
    assert len(keys) > 150
    for key in ("grant_detail", "admin:grants_grant_change", "admin:otp_enrol"):
        assert key in keys
    assert {"admin:grants_exercise_mark_paid", "admin:grants_notice_print"} <= keys
    registered = {model._meta.label_lower for model in admin.site._registry}
    assert set(MODELS) == registered, "Give each model of the admin an access class in MODELS."
    stale = (set(PORTAL) | set(SITE) | set(CUSTOM)) - keys
    assert stale == set(), "These lines of the tables name no route any more."
