"""The cost of a call at each depth of CPython's frame stack, called plainly and from
``equity.framestack``'s roomy frame (docs/performance.md, "The frame stack").

Prints the fastest call in nanoseconds and the depths (in frames of a small function)
at which a call cost more than ten times that: on CPython 3.11, plainly, one depth in
every ~146, where a call crosses the edge of a 16 KB chunk; from the roomy frame, none
within the 900 frames tried. Run: ``.venv/bin/python tests/benchmarks/frame_stack.py``.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from equity.framestack import _call

CALLS = 20_000


def leaf(a, b, c, d, e, f, g, h):
    return a


def calls() -> float:
    """Nanoseconds a call of ``leaf``, here."""
    started = time.perf_counter()
    for _ in range(CALLS):
        leaf(1, 2, 3, 4, 5, 6, 7, 8)
    return (time.perf_counter() - started) / CALLS * 1e9


def down(depth: int) -> float:
    return calls() if depth == 0 else down(depth - 1)


def every_depth(*_) -> list[tuple[int, float]]:
    return [(depth, down(depth)) for depth in range(900)]


def report(name: str, timed: list[tuple[int, float]]) -> None:
    fastest = min(ns for _, ns in timed)
    slow = [depth for depth, ns in timed if ns > 10 * fastest]
    worst = max(ns for _, ns in timed)
    print(f"{name}: fastest {fastest:.0f} ns, slowest {worst:.0f} ns, slow at depths {slow}")


if __name__ == "__main__":
    print(sys.version.split()[0])
    report("plain", every_depth())
    report("roomy frame", _call(every_depth, None, None))
