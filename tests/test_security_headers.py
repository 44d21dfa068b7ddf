import subprocess
import sys

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("url", ["/accounts/login/", "/admin/login/"])
def test_every_page_carries_a_policy_that_allows_no_third_party_origin(client, url):
    policy = client.get(url)["Content-Security-Policy"]
    assert "default-src 'self'" in policy
    assert "script-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    for directive in policy.split(";"):
        sources = directive.split()[1:]
        assert all(s.startswith("'") or s == "data:" for s in sources), directive


def test_pages_load_nothing_from_elsewhere(client):
    html = client.get(reverse("login")).content.decode()
    assert "http://" not in html.replace("http://testserver", "")
    assert "https://" not in html


def test_sessions_expire_and_cookies_are_http_only(settings):
    assert settings.SESSION_COOKIE_AGE <= 8 * 60 * 60
    assert settings.SESSION_COOKIE_HTTPONLY


def test_production_settings_pass_the_deployment_check_with_secure_cookies():
    env = {
        "DEBUG": "false",
        "SECRET_KEY": "x" * 64 + "-production-like-secret-key-for-the-check",
        "ALLOWED_HOSTS": "equity.example.com",
        "PATH": "/usr/bin:/bin",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    settings_dump = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django, os; os.environ['DJANGO_SETTINGS_MODULE']='equity.settings'; "
            "django.setup(); from django.conf import settings as s; "
            "print(s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_SSL_REDIRECT)",
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert settings_dump.stdout.split() == ["True", "True", "True"]


# --------------------------------------------------------------------------- no-store


@pytest.mark.parametrize("persona", ["anonymous", "mgarcia", "stockadmin"])
def test_every_page_tells_browsers_and_proxies_to_keep_no_copy(client, persona):
    """Every page of the portal and the back office, whatever it answers (a page, a
    redirect, a refusal, a CSV download), says ``Cache-Control: no-store``; /healthz and
    the static files do not."""
    from tests.test_access_matrix import demo_book, every_route

    book = demo_book()
    if persona != "anonymous":
        client.force_login(book.users[persona])
    kept = []
    for route in every_route(book):
        response = client.get(route.url)
        cache_control = response.get("Cache-Control", "")
        if route.key == "healthz":
            assert "no-store" not in cache_control
        elif "no-store" not in cache_control:
            kept.append(f"{route.url} ({response.status_code}): {cache_control!r}")
    assert kept == []
    report = client.get(reverse("admin:report_outstanding_options"), {"format": "csv"})
    assert persona != "stockadmin" or "no-store" in report["Cache-Control"]
    assert client.get("/no-such-page/")["Cache-Control"].count("no-store") == 1


def test_static_files_and_the_health_check_may_be_cached(client, db):
    assert "no-store" not in client.get("/healthz").get("Cache-Control", "")
    css = client.get("/static/css/portal.css")
    assert css.status_code == 200
    assert "no-store" not in css.get("Cache-Control", "")
