"""The WSGI application gunicorn serves calls Django from one roomy chunk of CPython's
frame stack (equity/framestack.py); what it answers is Django's answer, byte for byte."""

from __future__ import annotations

import io
import sys

import pytest

from equity import framestack
from equity.wsgi import application


def ask(app, path: str) -> tuple[str, dict, bytes]:
    started = []
    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "443",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "testserver",
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.input": io.BytesIO(b""),
        "wsgi.url_scheme": "https",
    }
    body = b"".join(app(environ, lambda status, headers: started.append((status, headers))))
    status, headers = started[0]
    return status, dict(headers), body


@pytest.mark.django_db
def test_the_served_application_answers_as_django_does():
    assert isinstance(application, framestack.RoomyFrameStack)
    for path in ["/healthz", "/portal/", "/admin/", "/no-such-page/"]:
        served, django = ask(application, path), ask(application.app, path)
        assert served[0] == django[0], path
        assert served[1].get("Location") == django[1].get("Location"), path
        assert served[2] == django[2], path


@pytest.mark.skipif(
    sys.implementation.name != "cpython" or sys.version_info < (3, 11),
    reason="the frame stack in chunks is CPython's, from 3.11",
)
def test_the_call_declares_a_stack_large_enough_for_a_chunk_of_its_own():
    """128 KB declared: CPython gives the frame a chunk of 256 KB, the rest of which holds
    the request's frames (22 KB for the deepest back-office page measured)."""
    assert framestack._call.__code__.co_stacksize == framestack.DECLARED_STACK == 16_000
    assert framestack._call(lambda *args: args, 1, 2) == (1, 2)
