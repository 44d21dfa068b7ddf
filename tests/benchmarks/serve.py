"""Requests per second under gunicorn, each page against the trivial view, in one run.

Started by bench.py with DATABASE_URL set to a generated book. It signs the benchmark
users in (sessions made directly in the session store), starts gunicorn in production
mode (DEBUG off, static files collected, the settings ``check --deploy`` passes), and
loads each URL with wrk from the same machine, the health check (``/healthz``, the trivial
view) first and last. The server runs with ``tests/benchmarks/settings.py``: the app's
settings with one benchmark-only URL added (``tests/benchmarks/urls.py``). Prints one JSON
object: requests per second by URL, and each one's ratio to the trivial view and to the
signed-in view that does nothing.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

WORKERS = 2  # one per core of the benchmark machine
CONNECTIONS = 4


def production_env() -> dict[str, str]:
    return {
        **os.environ,
        "DEBUG": "false",
        "SECRET_KEY": "benchmark-only-secret-key-" + "x" * 40,
        "ALLOWED_HOSTS": "127.0.0.1",
        "LOG_LEVEL": "WARNING",
    }


def sign_in(username: str) -> str:
    """A session for ``username``, as a login would make it."""
    os.environ.update({k: v for k, v in production_env().items() if k not in os.environ})
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "equity.settings")
    import django

    django.setup()
    from django.contrib.auth import (
        BACKEND_SESSION_KEY,
        HASH_SESSION_KEY,
        SESSION_KEY,
        get_user_model,
    )
    from django.contrib.sessions.backends.db import SessionStore

    user = get_user_model().objects.get(username=username)
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    return session.session_key


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wrk(url: str, cookie: str | None, seconds: int) -> float:
    command = ["wrk", "-t1", f"-c{CONNECTIONS}", f"-d{seconds}s", "-H", "X-Forwarded-Proto: https"]
    if cookie:
        command += ["-H", f"Cookie: sessionid={cookie}"]
    out = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
    if "Non-2xx or 3xx responses" in out:
        raise RuntimeError(f"{url} answered with errors or redirects under load:\n{out}")
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))


def check(url: str, cookie: str | None) -> None:
    request = urllib.request.Request(url, headers={"X-Forwarded-Proto": "https"})
    if cookie:
        request.add_header("Cookie", f"sessionid={cookie}")
    with urllib.request.urlopen(request) as response:
        assert response.status == 200, (url, response.status)


def main(pages: dict[str, tuple[str, str | None]], seconds: int) -> dict:
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed: apt-get install wrk (bench.py installs it)")
    env = production_env()
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
        cwd=ROOT,
        env=env,
        check=True,
    )
    cookies = {user: sign_in(user) for _, user in pages.values() if user}
    port = free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "equity.wsgi",
            f"--workers={WORKERS}",
            f"--bind=127.0.0.1:{port}",
            "--log-level=warning",
        ],
        cwd=ROOT,
        env={**env, "DJANGO_SETTINGS_MODULE": "tests.benchmarks.settings"},
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                check(f"{base}/healthz", None)
                break
            except OSError:
                time.sleep(0.1)
        result = {}
        trivial = []
        # Besides the trivial view, two signed-in requests with nothing of the book in
        # them: a view that only knows who is asking (tests/benchmarks/urls.py: the
        # ceiling for any signed-in page) and a page of the portal's layout with no
        # content of its own. They show how much of a page's cost is the framework's own
        # for any signed-in request.
        user = next(iter(cookies), None)
        signed_in = {
            "signed-in view, no page": ("/bench/signed-in/", user),
            "signed-in minimal page": ("/accounts/password/change/done/", user),
        }
        for label, (path, user) in [
            ("trivial view", ("/healthz", None)),
            *signed_in.items(),
            *pages.items(),
        ]:
            check(base + path, cookies.get(user))
            wrk(base + path, cookies.get(user), 2)  # warm up every worker
            rate = wrk(base + path, cookies.get(user), seconds)
            if label == "trivial view":
                trivial.append(rate)
            result[label] = {"path": path, "rps": rate}
        trivial.append(wrk(f"{base}/healthz", None, seconds))  # and again at the end
        baseline = sum(trivial) / len(trivial)
        result["trivial view"]["rps"] = baseline
        signed_in_rate = result["signed-in view, no page"]["rps"]
        for figures in result.values():
            figures["ratio"] = figures["rps"] / baseline
            figures["of_signed_in"] = figures["rps"] / signed_in_rate
        return result
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)


if __name__ == "__main__":
    spec = json.loads(sys.argv[1])
    print(json.dumps(main({k: tuple(v) for k, v in spec["pages"].items()}, spec["seconds"])))
