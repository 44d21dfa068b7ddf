"""Time every back-office page on one book (run by bench.py in a fresh process with
DATABASE_URL set, or by hand).

Every page a member of staff can open with a GET: the index, each registered model's
list, its search (where it has one), its add page and the change page of one of its
rows, every page a model admin or the site adds (reports, letters, verbs' forms), for
that row, and each choice of each list's filters (its sidebar's links). Signed in as
the benchmark's administrator, in production settings (DEBUG off), each page after a
warm-up: the median server time of five and the number of queries, each drawn afresh
(the caches of pages served again emptied before it). A page that answers other than
200 is listed with its status, not timed. Prints one JSON object: path -> {"ms": ...,
"queries": ...} or {"status": ...}. Paths containing any of
the command's arguments are skipped.
"""

from __future__ import annotations

import io
import json
import os
import re
import statistics
import sys
import time
from html import unescape
from pathlib import Path
from urllib.parse import unquote

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "equity.settings")

import django

django.setup()

from django.contrib import admin  # noqa: E402
from django.core.cache import caches  # noqa: E402
from django.core.signals import request_finished, request_started  # noqa: E402
from django.db import close_old_connections, connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.urls import URLPattern, reverse  # noqa: E402
from django.utils.http import urlencode  # noqa: E402

# As Django's test runner does: keep one connection across requests, so queries are counted.
request_started.disconnect(close_old_connections)
request_finished.disconnect(close_old_connections)

REPEAT = 5
# Pages that answer with a file, not a page, or change something on GET: not timed.
SKIP_SUFFIXES = ("/delete/", "/history/", "/autocomplete/")


def sample_row(model):
    """A row to open: the one with the most facts where that matters, else the first."""
    from grants.models import Grant, Optionee

    if model is Grant:
        from grants.synthetic import BENCH_USER

        found = Grant.objects.filter(optionee__user__username=BENCH_USER).first()
        if found is not None:
            return found
    if model is Optionee:
        from grants.synthetic import BENCH_USER

        found = Optionee.objects.filter(user__username=BENCH_USER).first()
        if found is not None:
            return found
    return model._default_manager.order_by("pk").first()


def search_term(model_admin) -> str | None:
    """What a person types to find one row: the whole value of the first searched field
    of the newest row (one name, one grant number), which few rows share."""
    fields = model_admin.search_fields
    if not fields:
        return None
    field = fields[0].lstrip("^=@")
    value = model_admin.model._default_manager.order_by("-pk").values_list(field, flat=True).first()
    return value if isinstance(value, str) and value else None


def admin_paths() -> list[str]:
    paths = [reverse("admin:index")]
    for model, model_admin in admin.site._registry.items():
        info = (model._meta.app_label, model._meta.model_name)
        row = sample_row(model)
        changelist = reverse("admin:{}_{}_changelist".format(*info))
        paths.append(changelist)
        term = search_term(model_admin)
        if term:
            paths.append(f"{changelist}?{urlencode({'q': term})}")
        if model_admin.has_add_permission(_Request()):
            paths.append(reverse("admin:{}_{}_add".format(*info)))
        if row is not None:
            paths.append(reverse("admin:{}_{}_change".format(*info), args=[row.pk]))
        standard = {
            f"{info[0]}_{info[1]}_{name}"
            for name in ("changelist", "add", "change", "delete", "history", "autocomplete")
        }
        for pattern in model_admin.get_urls():
            if not isinstance(pattern, URLPattern) or not pattern.name:
                continue
            if pattern.name in standard:
                continue
            args = []
            if "object_id" in str(pattern.pattern) or "<" in str(pattern.pattern):
                if row is None:
                    continue
                args = [row.pk]
            try:
                paths.append(reverse(f"admin:{pattern.name}", args=args))
            except Exception:  # a view that needs other arguments
                continue
    for pattern in admin.site.get_urls():
        if isinstance(pattern, URLPattern) and pattern.name and "<" not in str(pattern.pattern):
            try:
                path = reverse(f"admin:{pattern.name}")
            except Exception:
                continue
            if path not in paths:
                paths.append(path)
    return [p for p in dict.fromkeys(paths) if not p.endswith(SKIP_SUFFIXES)]


class _Request:
    """Enough of a request to ask a model admin whose permissions a superuser has."""

    def __init__(self):
        from django.contrib.auth import get_user_model

        from grants.synthetic import BENCH_ADMIN

        self.user = get_user_model().objects.get(username=BENCH_ADMIN)


class Server:
    """Pages asked of Django's WSGI handler, as a server asks them, with the session of a
    signed-in client: Django's test client would also keep a copy of the context of every
    template each page renders (its ``template_rendered`` signal, for tests' assertions),
    which no server does, and which read as a third more server time on the longest
    pages."""

    def __init__(self, user):
        client = Client()
        client.force_login(user)
        self.cookie = "; ".join(f"{name}={morsel.value}" for name, morsel in client.cookies.items())
        from equity.wsgi import application  # what gunicorn serves

        self.handler = application

    def get(self, address: str) -> tuple[int, str, bytes]:
        """The status, the content type and the body of the page at ``address``."""
        path, _, query = address.partition("?")
        environ = {
            "REQUEST_METHOD": "GET",
            "PATH_INFO": unquote(path),
            "QUERY_STRING": query,
            "SERVER_NAME": "testserver",
            "SERVER_PORT": "443",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "HTTP_HOST": "testserver",
            "HTTP_COOKIE": self.cookie,
            "REMOTE_ADDR": "127.0.0.1",
            "wsgi.input": io.BytesIO(b""),
            "wsgi.url_scheme": "https",
        }
        started = []
        body = b"".join(
            self.handler(environ, lambda status, headers: started.append((status, headers)))
        )
        status, headers = started[0]
        content_type = dict(headers).get("Content-Type", "")
        return int(status.split()[0]), content_type, body


def main() -> dict:
    from django.contrib.auth import get_user_model

    from grants.synthetic import BENCH_ADMIN

    server = Server(get_user_model().objects.get(username=BENCH_ADMIN))
    result = {}
    skip = sys.argv[1:]
    paths = admin_paths()
    for path in paths:
        if path in result:
            continue
        if any(part in path for part in skip):
            result[path] = {"skipped": True}
            continue
        started = time.perf_counter()
        status, content_type, body = server.get(path)  # warm up
        first = time.perf_counter() - started
        if status != 200 or not content_type.startswith("text/html"):
            result[path] = {"status": status, "type": content_type}
            continue
        if "?" not in path:  # a list: each choice of each of its filters is a page too
            paths += filter_choices(path, body.decode())
        executed = []

        def count(execute, sql, params, many, context, executed=executed):
            executed.append(sql)
            return execute(sql, params, many, context)

        with connection.execute_wrapper(count):
            draw_afresh()
            server.get(path)
        times = [first]
        for _ in range(REPEAT if first < 1 else 0):  # a page of seconds: once is enough
            draw_afresh()
            started = time.perf_counter()
            server.get(path)
            times.append(time.perf_counter() - started)
        result[path] = {"ms": round(statistics.median(times) * 1000, 1), "queries": len(executed)}
    return result


def filter_choices(path: str, html: str) -> list[str]:
    """The addresses of a list's filter choices ("All" aside), as its sidebar links them."""
    sidebar = re.search(r'<nav id="changelist-filter".*?</nav>', html, re.S)
    if sidebar is None:
        return []
    links = re.findall(r'<a href="(\?[^"]+)"', sidebar.group(0))
    return [path + unescape(link) for link in dict.fromkeys(links) if "=" in link]


def draw_afresh() -> None:
    """Empty the caches of pages served again (the index, the grant list): each page is
    timed as drawn, not as served from memory."""
    caches["pages"].clear()
    caches["lists"].clear()


if __name__ == "__main__":
    print(json.dumps(main()))
