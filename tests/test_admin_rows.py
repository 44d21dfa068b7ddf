"""Every list of the back office draws its rows itself (grants/templatetags/admin_rows.py,
a millisecond a row faster than Django's generic cells): each row must be Django's own
rendering of the same ``list_display``, byte for byte, on every list of the grants app."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest
from django.contrib import admin
from django.contrib.admin.templatetags.admin_list import items_for_result
from django.urls import reverse
from django.utils import timezone

from grants.demo import load_demo
from grants.models import Company, Grant, Optionee, RegistrationSuspension
from grants.templatetags.admin_rows import _columns

pytestmark = pytest.mark.django_db

GRANTS_LISTS = sorted(
    (model._meta.model_name, model)
    for model in admin.site._registry
    if model._meta.app_label == "grants"
)


@pytest.mark.parametrize(("name", "model"), GRANTS_LISTS, ids=[name for name, _ in GRANTS_LISTS])
def test_each_row_is_the_one_django_would_draw(admin_client, name, model):
    load_demo()
    company = Company.objects.get()
    # A row in each list the demo leaves empty; the suspension lasts (an empty end).
    RegistrationSuspension.objects.create(company=company, start=company.today())
    grant = Grant.objects.filter(optionee__user__isnull=False).order_by("pk").first()
    grant.optionee.record_section16_liability(company.today(), company.today())
    grant.acknowledge(grant.optionee.user)
    Optionee.objects.filter(pk=Optionee.objects.order_by("pk").first().pk).update(
        legal_name='Ann <b>& "Co"'  # escaped as Django escapes it
    )
    url = reverse(f"admin:grants_{name}_changelist")
    zone = ZoneInfo(Company.objects.get().time_zone)  # the request's hours were the company's
    # Unfiltered, then ordered by its second column (the link back to the list keeps it).
    for query in ["", "?o=2"]:
        response = admin_client.get(url + query)
        assert response.status_code == 200
        cl = response.context["cl"]
        html = response.content.decode()
        assert cl.result_list, name
        for row in cl.result_list:
            with timezone.override(zone):
                cells = "".join(items_for_result(cl, row, None))
            assert f"<tr>{cells}</tr>" in html, (name, query, row.pk)
        if query:
            assert "_changelist_filters=o%3D2" in html, name


def test_the_lists_of_the_book_are_drawn_by_the_fast_path(admin_client):
    """The long lists are drawn from their columns, not by the fallback to Django's."""
    load_demo()
    for name in ["grant", "exercise", "optionee", "termination", "installment"]:
        model = next((m for n, m in GRANTS_LISTS if n == name), None)
        if model is None:
            continue
        response = admin_client.get(reverse(f"admin:grants_{name}_changelist"))
        assert _columns(response.context["cl"]) is not None, name


def test_row_links_put_each_whole_number_key_in_the_first_row_s_address():
    """Any other key (text) is reversed row by row, as Django does."""
    from types import SimpleNamespace

    from grants.templatetags.admin_rows import RowLinks

    asked = []

    def url_for_result(obj):
        asked.append(obj.pk)
        return f"/admin/grants/thing/{obj.pk}/change/"

    cl = SimpleNamespace(
        pk_attname="pk",
        url_for_result=url_for_result,
        preserved_filters="_changelist_filters=o%3D2",
        opts=Grant._meta,
    )
    link = RowLinks(cl)
    rows = [SimpleNamespace(pk=key) for key in (12, 7, 123, "a/b", 12)]
    got = [link(row) for row in rows]
    assert got == [
        f"/admin/grants/thing/{key}/change/?_changelist_filters=o%3D2"
        for key in (12, 7, 123, "a/b", 12)
    ]
    assert asked == [12, "a/b"]


def test_a_list_of_the_rows_themselves_is_drawn_by_django(admin_client, monkeypatch):
    """A list without its own columns shows each row's ``__str__``: Django's cells."""
    load_demo()
    model_admin = admin.site._registry[Company]
    monkeypatch.setattr(model_admin, "list_display", ("__str__",))
    response = admin_client.get(reverse("admin:grants_company_changelist"))
    cl = response.context["cl"]
    assert _columns(cl) is None
    company = cl.result_list[0]
    assert f'">{company}</a></th>' in response.content.decode()
