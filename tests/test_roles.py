"""The back-office roles and every permission boundary between them.

The walk covers every ModelAdmin of the grants app registered on ``admin.site`` and every
URL each one (and the site) serves, so a screen added later is checked without editing
this file: an auditor reads every page and history and changes nothing; a stock
administrator opens every page a superuser opens; a person who is not staff is sent to
the admin's sign-in page.
"""

import importlib
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.admin.models import LogEntry
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.core.management import call_command
from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django.test import RequestFactory
from django.urls import URLPattern, reverse
from django.urls.resolvers import RegexPattern

from grants.demo import load_demo
from grants.models import Acknowledgement, Grant, Optionee
from grants.roles import AUDITOR, STOCK_ADMINISTRATOR, assign_role, sync_roles
from tests.conftest import d
from tests.factories import SuccessorFactory, UserFactory

pytestmark = pytest.mark.django_db

# Screens that only read (their GET is open to an auditor). Every other screen an admin
# adds is taken to write, and must refuse an auditor: list a new reading screen here.
READ_ONLY_SCREENS = {
    "grants_notice_print",
    "report_outstanding_options",
    "report_option_rollforward",
    "report_expense",
    "report_form3921",
}
# The site's own URLs (sign-in, index, ...), not screens of the book.
SITE_URLS = {
    "index",
    "login",
    "logout",
    "password_change",
    "password_change_done",
    "autocomplete",
    "jsi18n",
    "view_on_site",
    "app_list",
}


def grants_admins():
    return sorted(
        (
            model_admin
            for model, model_admin in admin.site._registry.items()
            if model._meta.app_label == "grants"
        ),
        key=lambda model_admin: model_admin.opts.model_name,
    )


GRANTS_ADMINS = grants_admins()
ADMIN_IDS = [model_admin.opts.model_name for model_admin in GRANTS_ADMINS]


@pytest.fixture
def book(db):
    """The demo book, with at least one row of every model the back office shows."""
    load_demo()
    walsh = Optionee.objects.get(legal_name="Eleanor Walsh")
    grant = walsh.grants.get()
    grant.company.suspend_registration(d("2004-01-05"), d("2004-01-09"), note="Before any grant")
    walsh.record_section16_liability(d("2004-02-02"), d("2004-02-27"))
    SuccessorFactory(optionee=walsh)
    Acknowledgement.objects.create(grant=grant, user=walsh.user, documents_version="1")
    return grant


@pytest.fixture
def users(book):
    User = get_user_model()
    return SimpleNamespace(
        stock_admin=User.objects.get(username="stockadmin"),
        auditor=User.objects.get(username="auditor"),
        superuser=UserFactory(is_staff=True, is_superuser=True),
        optionee=User.objects.get(username="jakridge"),
    )


def as_user(client, user):
    client.force_login(user)
    return client


def first_row(model_admin):
    row = model_admin.model._default_manager.order_by("pk").first()
    assert row is not None, f"Add a {model_admin.opts.verbose_name} to the `book` fixture."
    return row


def arguments(pattern, row) -> dict:
    """What ``reverse`` needs for ``pattern``, pointed at ``row``."""
    if isinstance(pattern.pattern, RegexPattern):
        regex = pattern.pattern.regex
        if regex.groups == 2 and pattern.name.endswith("_simple_history"):
            return {"args": [row.pk, row.history.order_by("history_id").first().history_id]}
        assert regex.groups == 0, f"Teach this test the arguments of {pattern.name}."
        return {}
    kwargs = {}
    for name in pattern.pattern.converters:
        assert name in ("object_id", "pk", "id"), f"Teach this test the “{name}” of {pattern}."
        kwargs[name] = row.pk
    return {"kwargs": kwargs}


def kind_of(name: str) -> str:
    for suffix in ("_changelist", "_add", "_change", "_simple_history", "_history", "_delete"):
        if name.endswith(suffix):
            return suffix.lstrip("_")
    return "reading screen" if name in READ_ONLY_SCREENS else "writing screen"


def screens(model_admin):
    """(name, url, kind) of every URL the ModelAdmin serves."""
    row = first_row(model_admin)
    for pattern in model_admin.get_urls():
        if pattern.name is None:  # the redirect of the old change URL
            continue
        url = reverse(f"admin:{pattern.name}", **arguments(pattern, row))
        yield pattern.name, url, kind_of(pattern.name)


def site_screens():
    """The site's own screens (reports and such), beyond sign-in and the index."""
    for pattern in admin.site.get_urls():
        if isinstance(pattern, URLPattern) and pattern.name and pattern.name not in SITE_URLS:
            yield pattern.name, reverse(f"admin:{pattern.name}"), kind_of(pattern.name)


def every_screen():
    for model_admin in GRANTS_ADMINS:
        yield from screens(model_admin)
    yield from site_screens()


def book_fingerprint() -> dict:
    """Row counts of every model of the app, history included, and of the admin's log:
    anything written leaves a trace here."""
    counts = {
        model._meta.label: model._default_manager.count()
        for model in apps.get_app_config("grants").get_models()
    }
    counts["admin log"] = LogEntry.objects.count()
    return counts


# --------------------------------------------------------------------------- the groups


def permission_names(group) -> set[str]:
    return {
        f"{app}.{codename}"
        for app, codename in group.permissions.values_list("content_type__app_label", "codename")
    }


def grants_permissions() -> set[str]:
    return {
        f"grants.{codename}"
        for codename in Permission.objects.filter(content_type__app_label="grants").values_list(
            "codename", flat=True
        )
    }


def test_the_migration_made_both_groups_with_their_permissions(db):
    administrator = Group.objects.get(name=STOCK_ADMINISTRATOR)
    auditor = Group.objects.get(name=AUDITOR)

    assert permission_names(administrator) == grants_permissions() | {"auth.view_user"}
    views = {name for name in grants_permissions() if name.split(".")[1].startswith("view_")}
    assert permission_names(auditor) == views
    # Every model of the app is covered, its audit history included.
    for model in apps.get_app_config("grants").get_models():
        assert f"grants.view_{model._meta.model_name}" in views
    assert "grants.view_historicalgrant" in views
    assert "grants.change_historicalgrant" not in views


def test_syncing_the_roles_again_changes_nothing(db):
    before = {g.name: permission_names(g) for g in Group.objects.all()}
    sync_roles()
    sync_roles()
    assert {g.name: permission_names(g) for g in Group.objects.all()} == before
    assert Group.objects.filter(name__in=[STOCK_ADMINISTRATOR, AUDITOR]).count() == 2


def test_the_data_migration_creates_missing_permissions_and_is_idempotent(db):
    before = {g.name: permission_names(g) for g in Group.objects.all()}
    Group.objects.all().delete()
    Permission.objects.filter(content_type__app_label__in=["grants", "auth"]).delete()
    migration = importlib.import_module("grants.migrations.0004_roles")
    state = MigrationLoader(connection).project_state(("grants", "0004_roles"))
    editor = SimpleNamespace(connection=connection)

    migration.create_roles(state.apps, editor)
    migration.create_roles(state.apps, editor)

    after = {g.name: permission_names(g) for g in Group.objects.all()}
    # The state at 0004 has the models of 0004; permissions of later models come with
    # the post-migrate sync (next test).
    for name in (STOCK_ADMINISTRATOR, AUDITOR):
        assert after[name] <= before[name]
        assert "grants.view_grant" in after[name]
    assert "grants.delete_grant" in after[STOCK_ADMINISTRATOR]
    assert "auth.view_user" in after[STOCK_ADMINISTRATOR]
    assert all(".view_" in name for name in after[AUDITOR])


def test_migrate_puts_the_roles_back(db):
    before = {g.name: permission_names(g) for g in Group.objects.all()}
    Group.objects.filter(name=AUDITOR).delete()
    Group.objects.get(name=STOCK_ADMINISTRATOR).permissions.clear()
    call_command("migrate", verbosity=0)
    assert {g.name: permission_names(g) for g in Group.objects.all()} == before


def test_assign_role_makes_a_staff_member(db):
    user = UserFactory(is_staff=False)
    assign_role(user, AUDITOR)
    user.refresh_from_db()
    assert user.is_staff
    assert not user.is_superuser
    assert list(user.groups.values_list("name", flat=True)) == [AUDITOR]
    with pytest.raises(ValueError, match="is not a role"):
        assign_role(user, "Janitor")


def test_the_demo_back_office_users_hold_roles_not_superuser_rights(users, capsys):
    assert not users.stock_admin.is_superuser
    assert users.stock_admin.is_staff
    assert list(users.stock_admin.groups.values_list("name", flat=True)) == [STOCK_ADMINISTRATOR]
    assert not users.auditor.is_superuser
    assert list(users.auditor.groups.values_list("name", flat=True)) == [AUDITOR]
    assert users.auditor.check_password("demo-auditor-pass")
    call_command("load_demo")
    out = capsys.readouterr().out
    assert "auditor / demo-auditor-pass" in out
    assert get_user_model().objects.filter(username="auditor").count() == 1


# --------------------------------------------------------------------------- the auditor


def test_the_auditor_opens_the_back_office(client, users):
    response = as_user(client, users.auditor).get(reverse("admin:index"))
    assert response.status_code == 200


@pytest.mark.parametrize("model_admin", GRANTS_ADMINS, ids=ADMIN_IDS)
def test_the_auditor_reads_every_screen_and_changes_nothing(client, users, model_admin):
    as_user(client, users.superuser)
    superuser_opens = {name: client.get(url).status_code for name, url, _ in screens(model_admin)}
    as_user(client, users.auditor)
    before = book_fingerprint()
    for name, url, kind in screens(model_admin):
        get, post = client.get(url), client.post(url, {"post": "yes"})
        if kind in ("changelist", "change", "history", "simple_history", "reading screen"):
            # What a superuser can open (a notice to print may not fit the row: 404).
            assert get.status_code == superuser_opens[name] != 403, f"{name}: {url}"
            assert kind == "reading screen" or get.status_code == 200, f"{name}: {url}"
        if kind in ("add", "delete"):
            assert get.status_code == 403, f"{name}: {url}"
        if kind == "writing screen":
            assert get.status_code in (403, 405), f"{name}: {url}"
        if kind in ("add", "change", "delete", "simple_history", "writing screen"):
            assert post.status_code == 403, f"{name}: POST {url}"
    assert book_fingerprint() == before


@pytest.mark.parametrize("model_admin", GRANTS_ADMINS, ids=ADMIN_IDS)
def test_the_auditor_has_no_action_on_any_list(client, users, model_admin):
    request = RequestFactory().get("/")
    request.user = users.superuser
    every_action = list(model_admin.get_actions(request))
    request.user = users.auditor
    assert list(model_admin.get_actions(request)) == []

    as_user(client, users.auditor)
    row = first_row(model_admin)
    changelist = reverse(f"admin:grants_{model_admin.opts.model_name}_changelist")
    before = book_fingerprint()
    for action in every_action:
        client.post(changelist, {"action": action, "_selected_action": [row.pk], "index": 0})
    assert book_fingerprint() == before


def test_the_auditor_reads_the_sites_own_screens(client, users):
    as_user(client, users.auditor)
    before = book_fingerprint()
    for name, url, kind in site_screens():
        if kind == "reading screen":
            assert client.get(url).status_code == 200, name
        else:
            assert client.get(url).status_code in (403, 405), name
            assert client.post(url).status_code == 403, name
    assert book_fingerprint() == before


# --------------------------------------------------------------------------- stock administrator


@pytest.mark.parametrize("model_admin", GRANTS_ADMINS, ids=ADMIN_IDS)
def test_the_stock_administrator_opens_every_page_a_superuser_opens(client, users, model_admin):
    opened = {}
    for user in (users.superuser, users.stock_admin):
        as_user(client, user)
        opened[user.username] = {
            name: client.get(url).status_code for name, url, _ in screens(model_admin)
        }
    assert opened[users.stock_admin.username] == opened[users.superuser.username]
    add = f"grants_{model_admin.opts.model_name}_add"
    may_add = model_admin.has_add_permission(SimpleNamespace(user=users.superuser))
    assert opened[users.stock_admin.username][add] == (200 if may_add else 403)


def test_the_stock_administrator_opens_the_sites_own_screens(client, users):
    for name, url, _ in site_screens():
        expected = as_user(client, users.superuser).get(url).status_code
        assert as_user(client, users.stock_admin).get(url).status_code == expected, name


def test_the_stock_administrator_sees_user_accounts_and_changes_none(client, users):
    as_user(client, users.stock_admin)
    assert client.get(reverse("admin:auth_user_changelist")).status_code == 200
    assert client.get(reverse("admin:auth_user_add")).status_code == 403
    assert client.get(reverse("admin:auth_group_changelist")).status_code == 403


# --------------------------------------------------------------------------- not staff


def test_an_optionee_is_sent_to_the_admin_sign_in_from_every_screen(client, users):
    as_user(client, users.optionee)
    login = reverse("admin:login")
    urls = [reverse("admin:index"), *(url for _, url, _ in every_screen())]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response.url.startswith(f"{login}?next="), url


def test_every_grant_is_in_the_walk(book):
    """The walk reaches the screens that matter most (a guard on the walk itself)."""
    names = {name for name, _, _ in every_screen()}
    for expected in (
        "grants_grant_changelist",
        "grants_exercise_add",
        "grants_notice_change_address",
        "grants_closingprice_upload",
        "grants_registrationsuspension_end",
        "report_outstanding_options",
        "report_option_rollforward",
        "report_expense",
        "report_form3921",
    ):
        assert expected in names
    assert Grant.objects.count() >= 5
