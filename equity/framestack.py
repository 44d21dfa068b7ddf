"""Every request served from one roomy chunk of CPython's frame stack.

CPython 3.11 keeps the frames of Python calls in chunks of 16 KB, allocated when a call
does not fit in the current one and freed when the call at its base returns (the memory
comes from ``mmap`` and goes back with ``munmap``). A page whose template calls go back
and forth across the edge of a chunk, thousands of times in drawing a page, pays two
system calls on each crossing: measured on the million-grant book, the same grant list
took 30 ms or 60 ms, and the sign-in log 34 or 75 ms, depending only on how many frames
deep the server called Django (docs/performance.md, "The frame stack"). Where the edges
fall depends on the server, so every page is at risk of it in some deployment.

``RoomyFrameStack`` calls the application from a frame that declares a stack of 128 KB
it never uses: the call opens a chunk of 256 KB (one ``mmap`` a request, about 7
microseconds), whose other half holds every deeper frame of the request. The deepest page
of the back office measured 22 KB of frames. The frame's stack is declared, not written:
nothing of those 128 KB is touched.
"""

from __future__ import annotations

import sys

# Slots of eight bytes: 128 KB, which with the frame's own overhead makes CPython open a
# chunk of 256 KB for it (chunks come in 16 KB doubled).
DECLARED_STACK = 16_000


def _call(app, environ, start_response):
    return app(environ, start_response)


if sys.implementation.name == "cpython" and sys.version_info >= (3, 11):
    _call.__code__ = _call.__code__.replace(co_stacksize=DECLARED_STACK)


class RoomyFrameStack:
    """WSGI middleware: ``app``, called from one frame that opens a fresh chunk of frame
    stack large enough for the whole request."""

    def __init__(self, app) -> None:
        self.app = app

    def __call__(self, environ, start_response):
        return _call(self.app, environ, start_response)
