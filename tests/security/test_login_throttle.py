"""Admin logins are throttled: 10 failures lock that username from that address for 15 minutes."""

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import F
from django.test import Client

pytestmark = pytest.mark.django_db

LOGIN = "/admin/login/"
PASSWORD = "the-right-password-1"
ATTACKER, OTHER_ADDRESS = "203.0.113.7", "198.51.100.20"


@pytest.fixture
def staff():
    users = get_user_model().objects
    return (users.create_superuser("boss", "boss@example.com", PASSWORD),
            users.create_superuser("clerk", "clerk@example.com", PASSWORD))


def log_in(username: str, password: str, address: str = ATTACKER):
    """A browser at `address` submitting the admin's login form; the response and whether it got in."""
    client = Client(REMOTE_ADDR=address)
    response = client.post(LOGIN, {"username": username, "password": password, "next": "/admin/"})
    return response, "_auth_user_id" in client.session


def fail(times: int, username: str = "boss", address: str = ATTACKER) -> list[int]:
    """Wrong passwords; the status of each answer (the form again, 200, until the lock)."""
    statuses = []
    for attempt in range(times):
        response, logged_in = log_in(username, f"wrong-{attempt}", address)
        assert not logged_in
        statuses.append(response.status_code)
    return statuses


def test_the_policy_is_ten_failures_per_user_and_address_for_fifteen_minutes():
    assert settings.AXES_FAILURE_LIMIT == 10
    assert settings.AXES_COOLOFF_TIME == timedelta(minutes=15)
    assert settings.AXES_LOCKOUT_PARAMETERS == [["username", "ip_address"]]


def test_nine_failures_still_let_the_right_password_in(staff):
    fail(9)

    _, logged_in = log_in("boss", PASSWORD)

    assert logged_in


def test_the_eleventh_attempt_is_refused_even_with_the_right_password(staff):
    # The tenth failure locks: its answer is already the lockout page.
    assert fail(10) == [200] * 9 + [429]

    response, logged_in = log_in("boss", PASSWORD)

    assert not logged_in
    assert response.status_code == 429
    assert b"too many" in response.content.lower()


def test_the_lock_holds_that_user_and_address_only(staff):
    fail(10)

    assert log_in("boss", PASSWORD, OTHER_ADDRESS)[1], "the same user from another address"
    assert log_in("clerk", PASSWORD, ATTACKER)[1], "another user from the same address"
    assert not log_in("boss", PASSWORD, ATTACKER)[1]


def test_the_lock_ends_after_the_cool_off(staff):
    fail(10)
    assert not log_in("boss", PASSWORD)[1]

    # Fifteen minutes pass: the failures are that much older.
    AccessAttempt.objects.update(attempt_time=F("attempt_time") - timedelta(minutes=15, seconds=1))

    assert log_in("boss", PASSWORD)[1]


def test_a_success_clears_the_count(staff):
    fail(9)
    assert log_in("boss", PASSWORD)[1]

    fail(9)

    assert log_in("boss", PASSWORD)[1]
