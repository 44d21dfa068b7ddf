"""Terminations, changes of role and the optionee page, end to end through the admin.

The administrator sees what a termination does to each grant (``preview_termination``)
before confirming it (``terminate``); reversal, a later death and a change of role call
their verbs. A refusal shows the rule's message and writes nothing.
"""

import datetime as dt

import pytest
import time_machine
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from grants.models import Grant, Optionee, Termination
from grants.roles import AUDITOR, STOCK_ADMINISTRATOR, assign_role
from tests.conftest import d
from tests.factories import (
    GrantFactory,
    OptioneeFactory,
    SuccessorFactory,
    UserFactory,
    changes_nothing,
)

RECORD_URL = reverse("admin:grants_termination_add")


@pytest.fixture
def staff(db):
    return UserFactory(username="stockadmin", is_staff=True, is_superuser=True)


@pytest.fixture
def admin_client(client, grant, staff):
    client.force_login(staff)
    return client


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def termination_form(optionee, on="2008-01-31", reason="other", button="preview", **extra):
    return {"optionee": optionee.pk, "on": on, "reason": reason, "note": "", button: "1", **extra}


def preview(client, optionee, **kwargs):
    return client.post(RECORD_URL, termination_form(optionee, **kwargs))


def confirm(client, optionee, **kwargs):
    """Preview, then confirm what the preview showed (as the screen's buttons do)."""
    shown = preview(client, optionee, **kwargs)
    return client.post(
        RECORD_URL,
        termination_form(
            optionee, button="confirm", previewed=shown.context["previewed"], **kwargs
        ),
        follow=True,
    )


def optionee_page(optionee) -> str:
    return reverse("admin:grants_optionee_change", args=[optionee.pk])


def unescape(response) -> str:
    return response.content.decode().replace("&#x27;", "'").replace("&quot;", '"')


# --------------------------------------------------------------------------- record


def test_add_on_the_changelist_opens_the_record_screen(admin_client, optionee):
    assert (
        RECORD_URL
        in admin_client.get(reverse("admin:grants_termination_changelist")).content.decode()
    )
    page = admin_client.get(RECORD_URL, {"optionee": optionee.pk})
    assert page.status_code == 200
    assert page.context["form"]["optionee"].value() == str(optionee.pk)
    html = page.content.decode()
    assert 'name="preview"' in html
    assert 'name="confirm"' not in html  # nothing to confirm before a preview


def test_preview_shows_what_the_termination_does_to_the_seed_grant(admin_client, grant):
    with changes_nothing(grant):
        response = preview(admin_client, grant.optionee, on="2008-01-31", reason="other")
    [effect] = response.context["effects"]
    assert (effect.vested, effect.forfeited, effect.exercisable_after) == (
        662_500,
        337_500,
        662_500,
    )
    assert (effect.expires.on, effect.expires.clause) == (d("2008-04-30"), "window")
    html = response.content.decode()
    row = html[html.index('class="termination-effect"') :]
    row = row[: row.index("</tr>")]
    for shown in [
        "VLNC-2005-0001",
        "<td>662,500</td>",
        "<td>337,500</td>",
        "<td>2015-07-13</td>",
        "<strong>2008-04-30</strong>",
        "3 months after termination on 2008-01-31 (involuntary termination window).",
    ]:
        assert shown in row, shown
    assert 'name="confirm"' in html
    assert not Termination.objects.exists()


def test_preview_counts_earlier_exercises(admin_client, grant):
    grant.request_exercise(100_000, d("2006-01-03"), payment_method="cash")
    [effect] = preview(admin_client, grant.optionee).context["effects"]
    assert (effect.exercised, effect.exercisable_after) == (100_000, 562_500)


def test_preview_of_disability_and_death(admin_client, grant):
    [disability] = preview(admin_client, grant.optionee, reason="disability").context["effects"]
    assert (disability.expires.on, disability.expires.clause) == (d("2009-01-31"), "window")
    [death] = preview(admin_client, grant.optionee, reason="death").context["effects"]
    assert (death.expires.on, death.expires.clause) == (d("2009-07-31"), "window")


def test_confirm_records_the_termination_and_moves_the_expiration(admin_client, grant):
    response = confirm(admin_client, grant.optionee, on="2008-01-31", reason="other")
    termination = Termination.objects.get()
    assert (termination.on, termination.reason) == (d("2008-01-31"), "INVOLUNTARY_OTHER")
    grant.refresh_from_db()
    assert (grant.expires_on, grant.expiration_clause) == (d("2008-04-30"), "window")
    assert response.redirect_chain[-1][0] == optionee_page(grant.optionee)
    assert (
        "Termination of James R. Akridge on 2008-01-31 recorded; each grant's expiration date "
        "was recomputed." in messages_of(response)
    )
    assert "Service ended on 2008-01-31" in response.content.decode()


def test_confirm_of_a_death_records_the_date_of_death(admin_client, grant):
    confirm(admin_client, grant.optionee, on="2008-01-31", reason="death")
    grant.optionee.refresh_from_db()
    assert grant.optionee.date_of_death == d("2008-01-31")
    grant.refresh_from_db()
    assert (grant.expires_on, grant.expiration_clause) == (d("2009-07-31"), "window")


def test_confirming_what_was_not_previewed_previews_again(admin_client, grant):
    shown = preview(admin_client, grant.optionee, on="2008-01-31")
    with changes_nothing(grant):
        response = admin_client.post(
            RECORD_URL,
            termination_form(
                grant.optionee,
                on="2008-02-29",
                button="confirm",
                previewed=shown.context["previewed"],
            ),
        )
        without_preview = admin_client.post(
            RECORD_URL, termination_form(grant.optionee, button="confirm")
        )
    [effect] = response.context["effects"]
    assert effect.expires.on == d("2008-05-29")
    assert "changed since the last preview" in response.content.decode()
    assert without_preview.context["effects"]


def test_a_second_termination_is_refused_with_the_message(admin_client, grant):
    grant.optionee.terminate(d("2008-01-31"), "other")
    expected = (
        "James R. Akridge's service already ended on 2008-01-31. To correct it, reverse that "
        "termination first."
    )
    with changes_nothing(grant):
        shown = preview(admin_client, grant.optionee, on="2008-02-29")
        confirmed = admin_client.post(
            RECORD_URL,
            termination_form(
                grant.optionee,
                on="2008-02-29",
                button="confirm",
                previewed=f"{grant.optionee.pk}|2008-02-29|other",
            ),
        )
    for response in (shown, confirmed):
        assert response.context["form"].non_field_errors() == [expected]
        assert expected in unescape(response)
        assert response.context["effects"] is None
    assert Termination.objects.count() == 1


def test_a_termination_before_the_grant_is_refused(admin_client, grant):
    with changes_nothing(grant):
        response = preview(admin_client, grant.optionee, on="2005-01-31")
    [error] = response.context["form"].non_field_errors()
    assert "before grant VLNC-2005-0001 was made on 2005-07-13" in error


# --------------------------------------------------------------------------- reverse, death


def test_reverse_a_termination(admin_client, grant):
    termination = grant.optionee.terminate(d("2008-01-31"), "other")
    url = reverse("admin:grants_termination_reverse", args=[termination.pk])
    page = admin_client.get(reverse("admin:grants_termination_change", args=[termination.pk]))
    assert url in page.content.decode()

    response = admin_client.post(url, {"why": "Recorded for the wrong person."}, follow=True)
    termination.refresh_from_db()
    assert termination.reversed_at is not None
    assert termination.reversal_reason == "Recorded for the wrong person."
    grant.refresh_from_db()
    assert (grant.expires_on, grant.expiration_clause) == (d("2015-07-13"), "term")
    assert response.redirect_chain[-1][0] == optionee_page(grant.optionee)
    assert any("was reversed" in m for m in messages_of(response))

    # The correction can now be recorded.
    confirm(admin_client, grant.optionee, on="2008-02-29")
    grant.refresh_from_db()
    assert grant.expires_on == d("2008-05-29")


def test_reversal_needs_a_reason_and_happens_once(admin_client, grant):
    termination = grant.optionee.terminate(d("2008-01-31"), "other")
    url = reverse("admin:grants_termination_reverse", args=[termination.pk])
    with changes_nothing(grant):
        no_reason = admin_client.post(url, {"why": "  "})
    assert no_reason.context["form"].non_field_errors() == ["Say why the termination is reversed."]
    termination.reverse("Error.")
    with changes_nothing(grant):
        twice = admin_client.post(url, {"why": "Again."})
    assert twice.context["form"].non_field_errors() == ["This termination was already reversed."]


def test_record_a_death_after_an_earlier_termination(admin_client, grant):
    optionee = grant.optionee
    termination = optionee.terminate(d("2008-01-31"), "other")
    url = reverse("admin:grants_optionee_record_death", args=[optionee.pk])
    assert url in admin_client.get(optionee_page(optionee)).content.decode()
    assert (
        url
        in admin_client.get(
            reverse("admin:grants_termination_change", args=[termination.pk])
        ).content.decode()
    )

    response = admin_client.post(url, {"on": "2008-02-15"}, follow=True)
    optionee.refresh_from_db()
    assert optionee.date_of_death == d("2008-02-15")
    grant.refresh_from_db()
    assert (grant.expires_on, grant.expiration_clause) == (d("2008-04-30"), "window")
    assert "Died on 2008-02-15" in response.content.decode()


def test_record_death_refusals_show_the_message(admin_client, grant):
    optionee = grant.optionee
    url = reverse("admin:grants_optionee_record_death", args=[optionee.pk])
    with changes_nothing(grant):
        in_service = admin_client.post(url, {"on": "2008-02-15"})
    assert in_service.context["form"].non_field_errors() == [
        "James R. Akridge is still in service: record the death as a termination for death."
    ]
    optionee.terminate(d("2008-01-31"), "other")
    with changes_nothing(grant):
        before = admin_client.post(url, {"on": "2008-01-15"})
    [error] = before.context["form"].non_field_errors()
    assert "before the end of service on 2008-01-31" in error
    optionee.refresh_from_db()
    assert optionee.date_of_death is None


# --------------------------------------------------------------------------- change of role


def test_a_change_of_role_is_not_a_termination(admin_client, grant):
    optionee = grant.optionee
    url = reverse("admin:grants_optionee_change_role", args=[optionee.pk])
    assert url in admin_client.get(optionee_page(optionee)).content.decode()
    with changes_nothing(grant):
        response = admin_client.post(url, {"relationship": "consultant"}, follow=True)
    optionee.refresh_from_db()
    assert optionee.relationship == Optionee.Relationship.CONSULTANT
    assert not Termination.objects.exists()
    grant.refresh_from_db()
    assert (grant.expires_on, grant.expiration_clause) == (d("2015-07-13"), "term")
    assert grant.expiration_date(d("2009-01-01")) == d("2015-07-13")
    assert grant.vested_shares(d("2009-07-13")) == 1_000_000  # vesting goes on
    assert response.redirect_chain[-1][0] == optionee_page(optionee)
    html = response.content.decode()
    history = html[html.index('id="role-history"') :]
    assert history.index("Employee") < history.index("Consultant")
    assert "In continuous service." in html


def test_the_role_change_must_name_a_new_role(admin_client, grant):
    url = reverse("admin:grants_optionee_change_role", args=[grant.optionee.pk])
    response = admin_client.post(url, {"relationship": "employee"})
    assert response.context["form"].errors["relationship"] == [
        "James R. Akridge's role is already employee; choose the new role."
    ]


def test_the_role_is_changed_only_by_the_verb(admin_client, grant):
    """The optionee form shows the role and the date of death read-only."""
    page = admin_client.get(optionee_page(grant.optionee))
    form = page.context["adminform"].form
    assert "relationship" not in form.fields
    assert "date_of_death" not in form.fields


# --------------------------------------------------------------------------- optionee page


def _post_data(response) -> dict:
    """The optionee form and its inline formsets as the page rendered them."""
    data = {}
    form = response.context["adminform"].form
    for name, field in form.fields.items():
        value = form.initial.get(name, field.initial)
        data[name] = "on" if value is True else "" if value in (None, False) else value
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        for name, value in formset.management_form.initial.items():
            data[f"{formset.prefix}-{name}"] = value
        for subform in formset.forms:
            for name in subform.fields:
                value = subform.initial.get(name, "")
                data[subform.add_prefix(name)] = "" if value is None else value
    return data


def test_the_optionee_page_shows_grants_terminations_windows_addresses_successors(
    admin_client, grant
):
    optionee = grant.optionee
    grant.request_exercise(100_000, d("2006-01-03"), payment_method="cash")
    optionee.is_section16_insider = True
    optionee.save()
    optionee.record_section16_liability(d("2008-02-01"), d("2008-02-20"))
    optionee.terminate(d("2008-01-31"), "other", note="Resigned")
    SuccessorFactory(optionee=optionee, name="Mary Akridge", document_reference="Probate 77")
    page = admin_client.get(optionee_page(optionee))
    html = page.content.decode()
    [(shown_grant, position, price)] = page.context["grant_positions"]
    assert (shown_grant, price) == (grant, "$2.99")
    assert (position.vested, position.exercised, position.exercisable) == (662_500, 100_000, 0)
    assert position.forfeited == 337_500
    for shown in [
        "VLNC-2005-0001",
        "<td>662,500</td>",
        "<td>337,500</td>",
        "Resigned",
        "Section 16(b) liability windows",
        "2008-02-20",
        "4300 Bee Caves Road",
        "Mary Akridge",
        "Probate 77",
    ]:
        assert shown in html, shown
    assert (
        reverse("admin:grants_termination_reverse", args=[optionee.active_termination().pk]) in html
    )


def test_the_optionee_page_lists_terminations_windows_and_addresses_as_recorded(
    admin_client, grant
):
    """The read-only history is drawn in tables: each termination with its reason and when
    it was recorded and reversed, in the company's hours (Chicago); the liability windows;
    every notice address with the notice that changed it."""
    optionee = grant.optionee
    empty = admin_client.get(optionee_page(optionee)).content.decode()
    assert empty.count("<p>None recorded.</p>") == 2  # no termination, no window
    assert "4300 Bee Caves Road" in empty  # the address the grant was made with
    with time_machine.travel(dt.datetime(2008, 2, 1, 15, 30, tzinfo=dt.UTC), tick=False):
        mistaken = optionee.terminate(d("2008-01-31"), "other", note="Wrong person")
    with time_machine.travel(dt.datetime(2008, 2, 4, 16, 5, tzinfo=dt.UTC), tick=False):
        mistaken.reverse("Recorded for the wrong optionee")
        optionee.change_notice_address("1 Main Street\nAustin TX", received_on=d("2008-02-04"))
    optionee.record_section16_liability(d("2008-02-01"), d("2008-02-20"))
    html = admin_client.get(optionee_page(optionee)).content.decode()
    change_url = reverse("admin:grants_termination_change", args=[mistaken.pk])
    assert f'<a href="{change_url}">2008-01-31</a>' in html
    assert "<td>Wrong person</td>" in html
    assert "<td>2008-02-01 09:30 CST</td>" in html  # recorded at 15:30 UTC
    assert "<td>2008-02-04 10:05 CST</td>" in html  # reversed at 16:05 UTC
    assert "<td>Recorded for the wrong optionee</td>" in html
    assert "<tr><td>2008-02-01</td><td>2008-02-20</td></tr>" in html
    assert "<td>1 Main Street<br>Austin TX</td><td>2008-02-04</td>" in html
    assert "<p>None recorded.</p>" not in html


def test_the_optionee_list_filters_by_standing_termination(admin_client, grant, company):
    leaver = OptioneeFactory(company=company, legal_name="Lee Leaver")
    reversed_ = OptioneeFactory(company=company, legal_name="Rey Reversed")
    leaver.terminate(d("2007-03-10"))
    reversed_.terminate(d("2007-03-10")).reverse("Recorded in error")
    url = reverse("admin:grants_optionee_changelist")

    def names(query):
        rows = admin_client.get(f"{url}?{query}").context["cl"].result_list
        return {optionee.legal_name for optionee in rows}

    assert names("terminated=yes") == {"Lee Leaver"}
    assert names("terminated=no") == {grant.optionee.legal_name, "Rey Reversed"}


def test_successors_are_kept_with_an_inline(admin_client, grant):
    optionee = grant.optionee
    page = admin_client.get(optionee_page(optionee))
    data = _post_data(page)
    prefix = next(
        i.formset.prefix
        for i in page.context["inline_admin_formsets"]
        if i.formset.model.__name__ == "Successor"
    )
    data.update(
        {
            f"{prefix}-TOTAL_FORMS": "1",
            f"{prefix}-0-name": "Estate of James R. Akridge",
            f"{prefix}-0-document": "will",
            f"{prefix}-0-document_reference": "Travis County Probate No. 1234",
            f"{prefix}-0-recorded_on": "2008-03-01",
            f"{prefix}-0-user": "",
            "_save": "Save",
        }
    )
    response = admin_client.post(optionee_page(optionee), data)
    assert response.status_code == 302, response.context["errors"] if response.context else ""
    [successor] = optionee.successors.all()
    assert (successor.name, successor.document, successor.recorded_on) == (
        "Estate of James R. Akridge",
        "will",
        d("2008-03-01"),
    )
    optionee.refresh_from_db()
    assert optionee.relationship == "employee"


def test_an_optionee_is_not_reverted_around_the_verbs(admin_client, grant):
    optionee = grant.optionee
    optionee.change_role("consultant")
    first = optionee.history.order_by("history_date").first()
    url = reverse("admin:grants_optionee_simple_history", args=[optionee.pk, first.history_id])
    assert admin_client.get(url).status_code == 200
    assert admin_client.post(url, {"legal_name": optionee.legal_name}).status_code == 403
    optionee.refresh_from_db()
    assert optionee.relationship == "consultant"


def test_optionee_changelist_columns_search_and_filter(admin_client, grant):
    gone = OptioneeFactory(company=grant.company, legal_name="Thomas Nguyen", employee_id="V-1002")
    gone.terminate(d("2008-01-31"), "other")
    url = reverse("admin:grants_optionee_changelist")
    html = admin_client.get(url).content.decode()
    assert "Jan. 31, 2008" in html
    names = lambda response: [o.legal_name for o in response.context["cl"].result_list]  # noqa: E731
    assert names(admin_client.get(url, {"q": "V-1002"})) == ["Thomas Nguyen"]
    assert names(admin_client.get(url, {"q": "james.akridge@"})) == ["James R. Akridge"]
    assert names(admin_client.get(url, {"terminated": "yes"})) == ["Thomas Nguyen"]
    assert names(admin_client.get(url, {"terminated": "no"})) == ["James R. Akridge"]


def test_termination_changelist_filters(admin_client, grant):
    grant.optionee.terminate(d("2008-01-31"), "other").reverse("Error.")
    grant.optionee.terminate(d("2008-02-29"), "disability")
    url = reverse("admin:grants_termination_changelist")
    dates = lambda response: [t.on for t in response.context["cl"].result_list]  # noqa: E731
    assert dates(admin_client.get(url, {"standing": "yes"})) == [d("2008-02-29")]
    assert dates(admin_client.get(url, {"standing": "no"})) == [d("2008-01-31")]
    filtered = admin_client.get(url, {"reason__exact": "INVOLUNTARY_DISABILITY"})
    assert dates(filtered) == [d("2008-02-29")]


def test_termination_rows_are_not_edited_by_hand(admin_client, grant):
    termination = grant.optionee.terminate(d("2008-01-31"), "other")
    url = reverse("admin:grants_termination_change", args=[termination.pk])
    with changes_nothing(grant):
        assert admin_client.post(url, {"on": "2008-03-31"}).status_code == 403


# --------------------------------------------------------------------------- queries


def _terminated_optionees(company, count: int) -> None:
    for _ in range(count):
        optionee = OptioneeFactory(company=company, with_user=True)
        optionee.terminate(d("2008-01-31"), "other")


@pytest.mark.parametrize("changelist", ["optionee", "termination"])
def test_changelist_queries_do_not_grow_with_the_rows(admin_client, grant, changelist):
    url = reverse(f"admin:grants_{changelist}_changelist")

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert admin_client.get(url).status_code == 200
        return len(captured)

    _terminated_optionees(grant.company, 2)
    few = queries()
    _terminated_optionees(grant.company, 12)
    assert queries() == few


def test_optionee_page_queries_do_not_grow_with_the_grants(admin_client, grant):
    optionee = grant.optionee

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert admin_client.get(optionee_page(optionee)).status_code == 200
        return len(captured)

    for _ in range(2):
        GrantFactory(plan=grant.plan, optionee=optionee)
    few = queries()
    for _ in range(8):
        GrantFactory(plan=grant.plan, optionee=optionee)
    assert Grant.objects.filter(optionee=optionee).count() == 11
    assert queries() == few


# --------------------------------------------------------------------------- permissions


def test_who_may_only_view_cannot_terminate_reverse_or_change_role(client, grant):
    viewer = UserFactory(is_staff=True)
    viewer.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_optionee", "view_termination"])
    )
    client.force_login(viewer)
    optionee = grant.optionee
    termination = optionee.terminate(d("2008-01-31"), "other")
    with changes_nothing(grant):
        assert client.post(RECORD_URL, termination_form(optionee)).status_code == 403
        reverse_url = reverse("admin:grants_termination_reverse", args=[termination.pk])
        assert client.post(reverse_url, {"why": "x"}).status_code == 403
        role_url = reverse("admin:grants_optionee_change_role", args=[optionee.pk])
        assert client.post(role_url, {"relationship": "consultant"}).status_code == 403
        death_url = reverse("admin:grants_optionee_record_death", args=[optionee.pk])
        assert client.post(death_url, {"on": "2008-02-15"}).status_code == 403
    page = client.get(optionee_page(optionee)).content.decode()
    assert role_url not in page
    assert reverse_url not in page


def test_the_stock_administrator_terminates_and_the_auditor_cannot(client, grant):
    administrator, auditor = UserFactory(), UserFactory()
    assign_role(administrator, STOCK_ADMINISTRATOR)
    assign_role(auditor, AUDITOR)
    client.force_login(auditor)
    with changes_nothing(grant):
        assert client.post(RECORD_URL, termination_form(grant.optionee)).status_code == 403
    client.force_login(administrator)
    confirm(client, grant.optionee)
    grant.refresh_from_db()
    assert grant.expires_on == d("2008-04-30")
    role_url = reverse("admin:grants_optionee_change_role", args=[grant.optionee.pk])
    client.force_login(auditor)
    assert client.post(role_url, {"relationship": "director"}).status_code == 403
    client.force_login(administrator)
    client.post(role_url, {"relationship": "director"})
    grant.optionee.refresh_from_db()
    assert grant.optionee.relationship == "director"
