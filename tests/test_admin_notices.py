"""Notices in the back office (paragraph 9): recorded in both directions with the effective
date the model computes, a change of the notice address through its verb, a notice printed
to send, and notices written by a verb that can be read but not edited."""

import re

import pytest
from django.contrib.admin.models import LogEntry
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from grants.models import Acknowledgement, Notice, NoticeAddress
from grants.roles import STOCK_ADMINISTRATOR, assign_role
from tests.conftest import d
from tests.factories import GrantFactory, OptioneeFactory, UserFactory, changes_nothing

SEED_ADDRESS = "James R. Akridge\n4300 Bee Caves Road\nAustin, Texas 78746"
NEW_ADDRESS = "James R. Akridge\n100 Congress Avenue\nAustin, Texas 78701"
ADD_URL = reverse("admin:grants_notice_add")
LIST_URL = reverse("admin:grants_notice_changelist")
CHANGE_ADDRESS_URL = reverse("admin:grants_notice_change_address")


@pytest.fixture
def staff(client, grant):
    user = UserFactory()
    assign_role(user, STOCK_ADMINISTRATOR)
    client.force_login(user)
    return client


def notice_form(optionee, **overrides):
    data = {
        "optionee": optionee.pk,
        "grant": "",
        "direction": Notice.Direction.TO_OPTIONEE,
        "method": Notice.Method.MAIL,
        "kind": Notice.Kind.GENERAL,
        "subject": "Your option expires soon",
        "body": "Your option expires on July 13, 2015.",
        "address": "",
        "sent_on": "2008-03-03",
        "received_on": "",
        "_save": "Save",
    }
    data.update(overrides)
    return data


def form_errors(response) -> str:
    """Every error the admin form shows, as one string."""
    form = response.context["adminform"].form
    return " ".join(str(e) for errors in form.errors.values() for e in errors)


def test_a_mailed_notice_to_the_optionee_takes_effect_five_days_after_deposit(
    staff, grant, optionee
):
    response = staff.post(ADD_URL, notice_form(optionee, grant=grant.pk))

    assert response.status_code == 302
    notice = Notice.objects.get(subject="Your option expires soon")
    assert notice.company == grant.company
    assert notice.effective_on == d("2008-03-08")
    assert notice.address == SEED_ADDRESS  # the address on file on the sending date
    assert notice.history.count() == 1
    assert LogEntry.objects.filter(object_id=str(notice.pk)).exists()
    page = staff.get(reverse("admin:grants_notice_change", args=[notice.pk]))
    assert "2008-03-08" in page.content.decode() or "March 8, 2008" in page.content.decode()
    assert "effective_on" not in page.context["adminform"].form.fields  # read-only


def test_a_notice_from_the_optionee_takes_effect_on_receipt(staff, optionee):
    response = staff.post(
        ADD_URL,
        notice_form(
            optionee,
            direction=Notice.Direction.TO_COMPANY,
            method=Notice.Method.PERSONAL,
            subject="Question about vesting",
            sent_on="",
            received_on="2008-03-04",
        ),
    )

    assert response.status_code == 302
    notice = Notice.objects.get(subject="Question about vesting")
    assert notice.effective_on == d("2008-03-04")
    assert notice.address == ""  # only notices to the optionee record where they went


def test_recording_the_receipt_later_moves_the_effective_date(staff, optionee):
    staff.post(ADD_URL, notice_form(optionee))
    notice = Notice.objects.get()
    url = reverse("admin:grants_notice_change", args=[notice.pk])

    response = staff.post(url, notice_form(optionee, received_on="2008-03-05"))

    assert response.status_code == 302
    notice.refresh_from_db()
    assert notice.effective_on == d("2008-03-05")  # receipt came before deposit + 5 days
    assert notice.history.count() == 2


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"sent_on": "2008-03-05", "received_on": "2008-03-04"},
            "cannot be received (2008-03-04) before it was sent (2008-03-05)",
        ),
        (
            {"direction": Notice.Direction.TO_COMPANY, "method": "personal", "sent_on": ""},
            "A notice from the optionee takes effect when the company receives it",
        ),
        ({"sent_on": "2999-01-01"}, "cannot be sent after today"),
        ({"method": Notice.Method.EMAIL, "received_on": "2008-03-03"}, "leave this empty"),
        ({"received_on": "2999-01-01"}, "cannot be received after today"),
        ({"method": Notice.Method.PORTAL}, "Select a valid choice"),
        ({"kind": Notice.Kind.EXERCISE}, "Select a valid choice"),
        ({"kind": Notice.Kind.ADDRESS_CHANGE}, "Select a valid choice"),
    ],
)
def test_a_notice_that_cannot_be_read_is_refused_with_a_clear_message(
    staff, grant, optionee, overrides, message
):
    with changes_nothing(grant):
        response = staff.post(ADD_URL, notice_form(optionee, **overrides))
    assert response.status_code == 200
    assert message in form_errors(response)


def test_a_letter_without_its_mailing_date_waits_to_be_printed_and_mailed(staff, grant, optionee):
    response = staff.post(ADD_URL, notice_form(optionee, sent_on=""))
    assert response.status_code == 302
    notice = Notice.objects.get(subject="Your option expires soon")
    assert notice.to_print
    assert notice.effective_on is None
    waiting = staff.get(LIST_URL, {"to_print": "yes"})
    assert [n.pk for n in waiting.context["cl"].result_list] == [notice.pk]
    marked = staff.post(
        LIST_URL,
        {"action": "mark_mailed", "_selected_action": [notice.pk], "on": "2008-03-03"},
        follow=True,
    )
    assert "Marked mailed: 1 letter." in marked.content.decode(), [
        str(m) for m in marked.context["messages"]
    ]
    notice.refresh_from_db()
    assert (notice.sent_on, notice.effective_on) == (d("2008-03-03"), d("2008-03-08"))
    printed = staff.get(reverse("admin:grants_notice_print", args=[notice.pk])).content.decode()
    assert "Sent by U.S. mail, postage prepaid, on March 3, 2008" in printed
    assert "e-mail" not in printed


def test_a_notice_by_e_mail_is_e_mailed_and_received_when_it_leaves(
    staff, grant, optionee, django_capture_on_commit_callbacks
):
    from django.core import mail

    with django_capture_on_commit_callbacks(execute=True):
        response = staff.post(
            ADD_URL, notice_form(optionee, method=Notice.Method.EMAIL, sent_on="")
        )
    assert response.status_code == 302
    notice = Notice.objects.get(subject="Your option expires soon")
    assert [m.to for m in mail.outbox] == [[optionee.email]]
    assert notice.emailed_at is not None
    assert notice.received_on == notice.sent_on == grant.company.today()
    printed = staff.get(reverse("admin:grants_notice_print", args=[notice.pk])).content.decode()
    assert "Sent by e-mail on" in printed


def test_a_notice_by_e_mail_needs_an_address(staff, grant, optionee):
    optionee.email = ""
    optionee.save()
    with changes_nothing(grant):
        response = staff.post(ADD_URL, notice_form(optionee, method=Notice.Method.EMAIL))
    assert "has no e-mail address on file" in form_errors(response)


def test_a_grant_of_another_optionee_is_refused(staff, grant):
    other = OptioneeFactory(company=grant.company)
    with changes_nothing(grant):
        response = staff.post(ADD_URL, notice_form(other, grant=grant.pk))
    assert f"Grant {grant.number} is not one of {other}'s grants." in form_errors(response)


def test_a_mailed_notice_needs_an_address_on_file_or_typed(staff, grant):
    nobody = OptioneeFactory(company=grant.company)
    with changes_nothing(grant):
        response = staff.post(ADD_URL, notice_form(nobody))
    assert "has no notice address on file on 2008-03-03" in form_errors(response)

    response = staff.post(ADD_URL, notice_form(nobody, address="c/o Counsel\nAustin"))
    assert response.status_code == 302
    assert Notice.objects.get(optionee=nobody).address == "c/o Counsel\nAustin"


# --------------------------------------------------------------------------- written by verbs


def test_a_notice_of_exercise_is_viewable_not_editable(staff, grant, optionee):
    exercise = grant.request_exercise(100_000, d("2006-01-04"), payment_method="cash")
    notice = exercise.notice
    url = reverse("admin:grants_notice_change", args=[notice.pk])

    page = staff.get(url)
    assert page.status_code == 200
    assert page.context["has_change_permission"] is False
    assert reverse("admin:grants_exercise_change", args=[exercise.pk]) in page.content.decode()

    before = Notice.history.count()
    edit = notice_form(
        optionee, direction="to_company", method="personal", received_on="2006-01-05"
    )
    assert staff.post(url, edit).status_code == 403
    delete_url = reverse("admin:grants_notice_delete", args=[notice.pk])
    assert staff.post(delete_url, {"post": "yes"}).status_code == 403
    version = notice.history.first().history_id
    revert = reverse("admin:grants_notice_simple_history", args=[notice.pk, version])
    assert staff.get(revert).status_code == 200  # the past version can be read
    assert staff.post(revert, edit).status_code == 403  # and not restored
    assert Notice.history.count() == before
    notice.refresh_from_db()
    assert notice.received_on == d("2006-01-04")


def test_a_hand_recorded_notice_can_be_deleted_but_not_one_written_by_a_verb(staff, optionee):
    staff.post(ADD_URL, notice_form(optionee))
    notice = Notice.objects.get()
    response = staff.post(reverse("admin:grants_notice_delete", args=[notice.pk]), {"post": "yes"})
    assert response.status_code == 302
    assert not Notice.objects.exists()
    assert Notice.history.filter(history_type="-").count() == 1  # the deletion is recorded


# --------------------------------------------------------------------------- change of address


def test_a_change_of_address_is_recorded_by_written_notice(staff, grant, optionee):
    page = staff.get(CHANGE_ADDRESS_URL, {"optionee": optionee.pk})
    assert page.status_code == 200
    assert "4300 Bee Caves Road" in page.content.decode()  # the address on file

    response = staff.post(
        CHANGE_ADDRESS_URL,
        {
            "optionee": optionee.pk,
            "address": NEW_ADDRESS,
            "received_on": "2008-03-03",
            "method": Notice.Method.MAIL,
        },
    )

    notice = Notice.objects.get(kind=Notice.Kind.ADDRESS_CHANGE)
    assert response.status_code == 302
    assert response.url == reverse("admin:grants_notice_change", args=[notice.pk])
    assert notice.effective_on == d("2008-03-03")
    assert NoticeAddress.objects.get(notice=notice).address == NEW_ADDRESS
    assert optionee.notice_address(d("2008-03-02")) == SEED_ADDRESS
    assert optionee.notice_address(d("2008-03-03")) == NEW_ADDRESS
    # The change is itself a notice written by a verb: read-only.
    assert staff.get(response.url).context["has_change_permission"] is False
    # A notice mailed after the change goes to the new address.
    staff.post(ADD_URL, notice_form(optionee, sent_on="2008-03-05", subject="After"))
    assert Notice.objects.get(subject="After").address == NEW_ADDRESS


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"address": "   "}, "This field is required."),
        ({"received_on": "2999-01-01"}, "A notice cannot be received after today."),
        ({"received_on": "2008-02-30"}, "Enter a valid date."),
    ],
)
def test_a_bad_change_of_address_writes_nothing(staff, grant, optionee, overrides, message):
    data = {"optionee": optionee.pk, "address": NEW_ADDRESS, "received_on": "2008-03-03"}
    data["method"] = Notice.Method.MAIL
    data.update(overrides)
    with changes_nothing(grant):
        response = staff.post(CHANGE_ADDRESS_URL, data)
    assert response.status_code == 200
    assert message in response.content.decode()


def test_the_changelist_links_to_the_change_of_address(staff):
    assert CHANGE_ADDRESS_URL in staff.get(LIST_URL).content.decode()


# --------------------------------------------------------------------------- printing


def test_a_notice_prints_to_the_address_on_file_when_sent(staff, grant, optionee):
    optionee.change_notice_address(NEW_ADDRESS, received_on=d("2008-03-10"))
    staff.post(ADD_URL, notice_form(optionee, grant=grant.pk))  # sent 2008-03-03
    notice = Notice.objects.get(subject="Your option expires soon")
    change_page = staff.get(reverse("admin:grants_notice_change", args=[notice.pk]))
    print_url = reverse("admin:grants_notice_print", args=[notice.pk])
    assert print_url in change_page.content.decode()

    response = staff.get(print_url)

    assert response.status_code == 200
    html = response.content.decode()
    assert "Valence Technology, Inc." in html
    assert "4300 Bee Caves Road" in html  # on file on March 3, not the later address
    assert "100 Congress Avenue" not in html
    assert "March 3, 2008" in html
    assert "Your option expires soon" in html
    assert "Your option expires on July 13, 2015." in html
    assert grant.number in html
    effect = re.sub(r"\s+", " ", html)
    assert "Sent by U.S. mail, postage prepaid, on March 3, 2008." in effect
    assert "this notice takes effect on March 8, 2008, or on its receipt if that is" in effect
    assert "@media print" in html
    # Plain HTML: nothing loaded from elsewhere, not even the admin's own files.
    assert not re.search(r"<(link|script|img)\b", html)


def test_a_notice_by_hand_prints_that_it_takes_effect_on_receipt(staff, optionee):
    staff.post(ADD_URL, notice_form(optionee, method=Notice.Method.PERSONAL, subject="Hand"))
    notice = Notice.objects.get(subject="Hand")
    html = re.sub(
        r"\s+",
        " ",
        staff.get(reverse("admin:grants_notice_print", args=[notice.pk])).content.decode(),
    )
    assert "Sent by personal delivery on March 3, 2008." in html
    assert "this notice takes effect on its receipt." in html


def test_only_notices_to_the_optionee_are_printed(staff, grant):
    exercise = grant.request_exercise(100_000, d("2006-01-04"), payment_method="cash")
    url = reverse("admin:grants_notice_print", args=[exercise.notice.pk])
    assert staff.get(url).status_code == 404
    change_page = staff.get(reverse("admin:grants_notice_change", args=[exercise.notice.pk]))
    assert url not in change_page.content.decode()


# --------------------------------------------------------------------------- a large book


def test_the_changelist_makes_the_same_queries_for_10_or_40_notices(staff, grant):
    def notices(count):
        for n in range(count):
            optionee = OptioneeFactory(company=grant.company)
            other = GrantFactory(plan=grant.plan, optionee=optionee)
            Notice.objects.create(
                company=grant.company,
                optionee=optionee,
                grant=other,
                direction=Notice.Direction.TO_OPTIONEE,
                method=Notice.Method.MAIL,
                subject=f"Notice {n}",
                address="Somewhere",
                sent_on=d("2008-03-03"),
            )

    def queries():
        with CaptureQueriesContext(connection) as captured:
            response = staff.get(LIST_URL)
        assert response.status_code == 200
        return len(captured)

    notices(10)
    ten = queries()
    notices(30)
    assert Notice.objects.count() == 40
    assert queries() == ten


def test_the_acknowledgement_list_makes_the_same_queries_for_5_or_25_rows(staff, grant):
    def acknowledgements(count):
        for _ in range(count):
            optionee = OptioneeFactory(company=grant.company, with_user=True)
            other = GrantFactory(plan=grant.plan, optionee=optionee)
            Acknowledgement.objects.create(grant=other, user=optionee.user, documents_version="1")

    def queries():
        url = reverse("admin:grants_acknowledgement_changelist")
        with CaptureQueriesContext(connection) as captured:
            assert staff.get(url).status_code == 200
        return len(captured)

    acknowledgements(5)
    five = queries()
    acknowledgements(20)
    assert queries() == five
    # Recorded by the optionee in the portal: read here, never written by hand.
    assert staff.get(reverse("admin:grants_acknowledgement_add")).status_code == 403
