"""The session store (shop_project.sessions.SessionStore): fewer statements and no wait for the
disk on a write, Django's behaviour otherwise."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.sessions.backends.base import CreateError, UpdateError
from django.contrib.sessions.models import Session
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from apps.shop.tests.factories import ProductFactory
from shop_project.sessions import SessionStore


def statements(captured) -> list[str]:
    """The statements that read or write rows (not the transaction's own)."""
    return [query["sql"].split()[0] for query in captured
            if query["sql"].split()[0] in ("SELECT", "INSERT", "UPDATE", "DELETE")]


# Outside a test's transaction, as a request runs (autocommit).
@pytest.mark.django_db(transaction=True)
class TestSessionStore:
    def test_is_the_configured_engine(self, client):
        client.post(reverse("cart:cart_add", args=[ProductFactory().id]), {"quantity": 1})
        assert isinstance(client.session, SessionStore)

    def test_a_new_session_is_one_insert_with_no_lookup_of_its_key(self):
        session = SessionStore()
        session["cart"] = {"items": {}}
        with CaptureQueriesContext(connection) as captured:
            session.save()
        assert statements(captured) == ["INSERT"]
        assert SessionStore(session.session_key).load() == {"cart": {"items": {}}}

    def test_a_change_is_one_update(self):
        session = SessionStore()
        session["n"] = 1
        session.save()
        session["n"] = 2
        with CaptureQueriesContext(connection) as captured:
            session.save()
        assert statements(captured) == ["UPDATE"]
        assert SessionStore(session.session_key).load() == {"n": 2}

    @pytest.mark.postgres
    def test_a_write_does_not_wait_for_the_disk(self):
        session = SessionStore()
        session["n"] = 1
        with CaptureQueriesContext(connection) as captured:
            session.save()
        sql = [query["sql"] for query in captured]
        assert sql[:2] == ["BEGIN", "SET LOCAL synchronous_commit TO OFF"] and sql[-1] == "COMMIT"

    @pytest.mark.postgres
    def test_inside_a_callers_transaction_its_commit_still_waits(self):
        session = SessionStore()
        with transaction.atomic(), CaptureQueriesContext(connection) as captured:
            session["n"] = 1
            session.save()
        assert not any("synchronous_commit" in query["sql"] for query in captured)

    def test_a_key_already_taken_is_refused_and_create_takes_another(self, monkeypatch):
        taken = SessionStore()
        taken["owner"] = "first"
        taken.save()
        intruder = SessionStore(taken.session_key)
        intruder["owner"] = "second"
        with pytest.raises(CreateError):
            intruder.save(must_create=True)
        assert SessionStore(taken.session_key).load() == {"owner": "first"}

        keys = iter([taken.session_key, "x" * 32])
        monkeypatch.setattr(SessionStore, "_get_new_session_key", lambda self: next(keys))
        fresh = SessionStore()
        fresh["owner"] = "third"
        fresh.create()
        assert fresh.session_key == "x" * 32
        assert SessionStore(taken.session_key).load() == {"owner": "first"}

    def test_a_session_deleted_meanwhile_is_an_update_error_as_in_django(self):
        session = SessionStore()
        session["n"] = 1
        session.save()
        Session.objects.filter(session_key=session.session_key).delete()
        session["n"] = 2
        with pytest.raises(UpdateError):
            session.save()

    def test_inside_a_transaction_a_refused_key_leaves_the_transaction_usable(self):
        taken = SessionStore()
        taken.save()
        with transaction.atomic():
            intruder = SessionStore(taken.session_key)
            with pytest.raises(CreateError):
                intruder.save(must_create=True)
            assert Session.objects.filter(session_key=taken.session_key).exists()

    def test_the_cart_survives_the_request_that_made_the_session(self, client):
        product = ProductFactory()
        client.post(reverse("cart:cart_add", args=[product.id]), {"quantity": 2})
        assert client.session[settings.CART_SESSION_ID]["items"] == {str(product.id): 2}

    def test_a_load_is_one_select_of_the_data(self):
        session = SessionStore()
        session["cart"] = {"items": {"7": 1}}
        session.save()
        with CaptureQueriesContext(connection) as captured:
            loaded = SessionStore(session.session_key).load()
        assert loaded == {"cart": {"items": {"7": 1}}}
        assert [q["sql"].split()[:2] for q in captured] == [["SELECT", "session_data"]]

    def test_an_expired_session_loads_empty_and_is_saved_under_a_new_key(self):
        session = SessionStore()
        session["cart"] = {"items": {"7": 1}}
        session.save()
        Session.objects.filter(session_key=session.session_key).update(
            expire_date=timezone.now() - timedelta(seconds=1))
        stale = SessionStore(session.session_key)
        assert stale.load() == {}
        stale["n"] = 1
        stale.save()
        assert stale.session_key != session.session_key
        assert SessionStore(stale.session_key).load() == {"n": 1}

    def test_an_unknown_or_malformed_key_loads_empty(self):
        assert SessionStore("a" * 32).load() == {}
        assert SessionStore("x").session_key is None  # Django refuses a short key: nothing to read
