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
