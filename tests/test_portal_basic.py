import pytest
from django.urls import reverse

from grants.demo import load_demo
from grants.models import Grant

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo():
    load_demo()


def test_sign_in_required(client, demo):
    response = client.get(reverse("dashboard"))
    assert response.status_code == 302
    assert reverse("login") in response["Location"]


def test_sign_in_through_the_form_then_see_own_grants(client, demo):
    response = client.post(
        reverse("login"), {"username": "tnguyen", "password": "demo-optionee-pass"}, follow=True
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "VLNC-DEMO-0102" in page
    assert "days left" in page  # the post-termination countdown
    assert "VLNC-2005-0001" not in page


def test_another_persons_grant_is_a_404(client, demo):
    garcia = Grant.objects.get(number="VLNC-DEMO-0101").optionee.user
    client.force_login(garcia)
    assert client.get(reverse("grant_detail", args=["VLNC-DEMO-0101"])).status_code == 200
    assert client.get(reverse("grant_detail", args=["VLNC-2005-0001"])).status_code == 404


def test_seed_grant_page_shows_the_schedule(client, demo):
    client.force_login(Grant.objects.get(number="VLNC-2005-0001").optionee.user)
    page = client.get(reverse("grant_detail", args=["VLNC-2005-0001"])).content.decode()
    assert "225,000" in page
    assert page.count("56,250") == 12


def test_the_health_check_answers_without_the_database_or_a_session(
    client, django_assert_num_queries
):
    with django_assert_num_queries(0):
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.content == b"ok\n"
    assert "sessionid" not in response.cookies
    assert client.post("/healthz").status_code == 405
