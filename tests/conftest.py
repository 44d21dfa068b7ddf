import datetime as dt

import pytest

from grants.seed import seed_grant


@pytest.fixture
def grant(db):
    """The seed grant: Valence Technology's 2005 grant of 1,000,000 shares to James R. Akridge."""
    return seed_grant()


@pytest.fixture
def company(grant):
    return grant.company


@pytest.fixture
def optionee(grant):
    return grant.optionee


def d(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """Hashing demo passwords with the production hasher would dominate the suite's time."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


UI_FIXTURES = {"client", "admin_client", "live_server", "page", "signed_in"}


@pytest.fixture(autouse=True)
def _books_balance_after_ui_tests(request):
    """After every test that changes data through the UI, the books must balance
    (``check_books``). A test that sets up an unbalanced book on purpose says so with
    ``@pytest.mark.unbalanced_books``."""
    uses_ui = UI_FIXTURES & set(request.fixturenames)
    marker = request.node.get_closest_marker("django_db")
    if not uses_ui or marker is None or request.node.get_closest_marker("unbalanced_books"):
        yield
        return
    transactional = marker.kwargs.get("transaction") or (marker.args and marker.args[0])
    request.getfixturevalue("transactional_db" if transactional else "db")
    yield
    from grants.books import check_books
    from grants.models import Company

    company = Company.objects.order_by("pk").first()
    if company is None:
        return
    problems = [str(item) for item in check_books(company.today()) if not isinstance(item, int)]
    assert problems == [], "the books do not balance after this test"


@pytest.fixture(autouse=True)
def _outbox_delivers_to_the_test_outbox(settings):
    """The outbox sends through Django's test mail backend, so ``mail.outbox`` holds what
    actually left (pytest-django points ``EMAIL_BACKEND`` there; the outbox's transport is
    ``MAILER_EMAIL_BACKEND``)."""
    settings.MAILER_EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
