"""The app's settings for ``serve.py``'s gunicorn, with one URL added for the benchmarks
(``tests/benchmarks/urls.py``); nothing else differs."""

from equity.settings import *  # noqa: F403

ROOT_URLCONF = "tests.benchmarks.urls"
