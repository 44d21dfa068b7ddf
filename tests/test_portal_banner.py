"""The banner asking a person to acknowledge their grants says the same on the dashboard
(which builds it from the grants it has read) as on every other page (which asks the
database, ``pending_acknowledgements``)."""

from __future__ import annotations

import re

import pytest

from grants.demo import load_demo
from grants.models import Acknowledgement, Grant
from grants.portal.views import pending_acknowledgements

pytestmark = pytest.mark.django_db


def banner(html: str) -> str:
    found = re.search(r"Please read and acknowledge receipt of(.*?)</div>", html, re.S)
    return re.sub(r"\s+", " ", found.group(1)).strip() if found else ""


def test_the_dashboard_s_banner_is_the_one_every_page_shows(client):
    load_demo()
    users = {g.optionee.user for g in Grant.objects.select_related("optionee__user")}
    shown = 0
    for user in sorted((u for u in users if u is not None), key=lambda u: u.pk):
        client.force_login(user)
        on_dashboard = banner(client.get("/", secure=True).content.decode())
        elsewhere = banner(client.get("/exercises/", secure=True).content.decode())
        assert on_dashboard == elsewhere, user
        numbers = [g.number for g in pending_acknowledgements(user)]
        assert re.findall(r"grant ([\w-]+)</a>", on_dashboard) == numbers, user
        shown += bool(numbers)
        for grant in pending_acknowledgements(user):  # acknowledged: the banner goes
            grant.acknowledge(user)
        assert banner(client.get("/", secure=True).content.decode()) == ""
    assert shown  # the demo has someone with grants to acknowledge
    assert Acknowledgement.objects.exists()
