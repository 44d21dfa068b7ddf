"""Two stock administrators editing the same row: the second save is refused, not lost."""

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from grants.demo import load_demo
from grants.models import Optionee, Plan

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_admins(client):
    from django.test import Client

    load_demo()
    admin = get_user_model().objects.get(username="stockadmin")
    other = get_user_model().objects.create_user("admin2", password="x" * 20, is_staff=True)
    other.groups.set(admin.groups.all())
    first, second = client, Client()
    first.force_login(admin)
    second.force_login(other)
    return first, second


def form_data(response):
    """What the browser would post back: the page's form as it was rendered."""
    form = response.context["adminform"].form
    data = {
        name: (field.value() if field.value() is not None else "")
        for name, field in ((n, form[n]) for n in form.fields)
    }
    data["_loaded_version"] = response.context["loaded_version"]
    for formset in response.context["inline_admin_formsets"]:
        management = formset.formset.management_form
        for name in management.fields:
            data[management.add_prefix(name)] = management[name].value()
    return data


def test_the_second_of_two_overlapping_edits_is_refused_and_names_who_changed_it(two_admins):
    first, second = two_admins
    optionee = Optionee.objects.get(legal_name="Maria Garcia")
    url = reverse("admin:grants_optionee_change", args=[optionee.pk])
    page_one, page_two = first.get(url), second.get(url)
    saved = first.post(url, {**form_data(page_one), "email": "maria.first@example.com"})
    assert saved.status_code == 302
    refused = second.post(url, {**form_data(page_two), "email": "maria.second@example.com"})
    assert refused.status_code == 200
    assert "stockadmin changed this optionee" in refused.content.decode()
    optionee.refresh_from_db()
    assert optionee.email == "maria.first@example.com"
    reloaded = second.get(url)
    again = second.post(url, {**form_data(reloaded), "email": "maria.second@example.com"})
    assert again.status_code == 302


def test_an_edit_without_a_concurrent_change_saves(two_admins):
    first, _ = two_admins
    plan = Plan.objects.get()
    url = reverse("admin:grants_plan_change", args=[plan.pk])
    response = first.post(url, {**form_data(first.get(url)), "share_reserve": "25000000"})
    assert response.status_code == 302
    plan.refresh_from_db()
    assert plan.share_reserve == 25_000_000
