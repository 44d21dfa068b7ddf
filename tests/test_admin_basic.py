import pytest
from django.contrib.auth import get_user_model
from django.forms import ModelForm
from django.urls import reverse

from grants.demo import load_demo
from grants.models import Exercise, Grant, Notice, Optionee

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    load_demo()
    client.force_login(get_user_model().objects.get(username="stockadmin"))
    return client


@pytest.mark.parametrize("model", [Grant, Optionee, Notice, Exercise])
def test_changelist_and_change_pages_open(admin_client, model):
    meta = model._meta
    assert (
        admin_client.get(
            reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist")
        ).status_code
        == 200
    )
    obj = model.objects.first()
    url = reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[obj.pk])
    assert admin_client.get(url).status_code == 200


def test_exercises_cannot_be_written_by_hand_in_the_admin(admin_client):
    """The "Add exercise" screen records a notice through ``request_exercise``: no
    model form writes an exercise row, and a recorded one cannot be edited."""
    add = admin_client.get(reverse("admin:grants_exercise_add"))
    assert not isinstance(add.context["form"], ModelForm)
    exercise = Exercise.objects.first()
    change = reverse("admin:grants_exercise_change", args=[exercise.pk])
    assert admin_client.post(change, {"shares": "1"}).status_code == 403


def test_every_list_shows_fifty_rows_a_page(client):
    """Other apps' screens too: django-axes' sign-in log, whose rows grow with every sign-in."""
    from axes.models import AccessLog
    from django.contrib import admin as django_admin

    from tests.factories import UserFactory

    client.force_login(UserFactory(is_staff=True, is_superuser=True))

    assert all(m.list_per_page <= 50 for m in django_admin.site._registry.values())
    AccessLog.objects.bulk_create(
        AccessLog(username=f"user{n}", ip_address="127.0.0.1", user_agent="x") for n in range(60)
    )
    page = client.get("/admin/axes/accesslog/", secure=True)
    assert len(page.context["cl"].result_list) == 50
    assert page.context["cl"].result_count == AccessLog.objects.count() > 60  # and the sign-in
