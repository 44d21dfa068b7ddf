"""The banner asking a person to acknowledge their grants says the same on the dashboard
as on every other page, names exactly the grants awaiting an acknowledgement, and goes
once they are acknowledged (it is served from the portal's cache until then)."""

from __future__ import annotations

import re

import pytest

from grants.demo import load_demo
from grants.models import Acknowledgement, Grant

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
        awaiting = Grant.objects.filter(optionee__user=user).awaiting_acknowledgement()
        numbers = [g.number for g in awaiting]
        assert re.findall(r"grant ([\w-]+)</a>", on_dashboard) == numbers, user
        shown += bool(numbers)
        for grant in awaiting:  # acknowledged: the banner goes
            grant.acknowledge(user)
        assert banner(client.get("/", secure=True).content.decode()) == ""
    assert shown  # the demo has someone with grants to acknowledge
    assert Acknowledgement.objects.exists()
