"""The session store (SESSION_ENGINE), and changing a session as the store holds it now, not as
this request loaded it.

Django writes a session whole when a request ends, so of two requests of one shopper (two tabs)
that load it before either saves, the last to save wins and the other's change is lost. A change
that must not lose what another tab saved meanwhile goes through session_change_as_stored: it is
applied to the stored session under its row's lock, and this request's copy becomes the result,
which the session middleware then has no reason to write again.
"""

from collections.abc import Callable

from django.contrib.sessions.backends.base import VALID_KEY_CHARS, CreateError, UpdateError
from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.db import DatabaseError, IntegrityError, connections, router
from django.utils import timezone
from django.utils.crypto import get_random_string

from shop_project.transactions import commit_without_waiting


class SessionStore(DatabaseSessionStore):
    """Django's database sessions, with cheaper writes and a cheaper read.

    A new session's key is not looked up first (Django SELECTs it): the INSERT's unique key is
    the check, a taken key fails it, and create() tries another, as it does after the lookup's
    own rare race. And a write does not wait for the disk (shop_project/transactions.py): a
    session lost in a database crash costs a shopper a cart line, never an order. The read is
    Django's statement without the ORM around it.
    """

    def load(self) -> dict:
        # Django's one statement, written out: building it and a model instance through the ORM
        # cost more than the database's answer, on every request of a shopper with a session.
        using = router.db_for_read(self.model)
        connection = connections[using]
        now = connection.ops.adapt_datetimefield_value(timezone.now())
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT session_data FROM {connection.ops.quote_name(self.model._meta.db_table)}"
                " WHERE session_key = %s AND expire_date > %s",
                [self.session_key, now],
            )
            row = cursor.fetchone()
        if row is None:  # unknown or expired: as Django does, a new key is made on save
            self._session_key = None
            return {}
        return self.decode(row[0])

    def _get_new_session_key(self) -> str:
        # As random as Django's; a clash is what the INSERT's unique constraint catches.
        return get_random_string(32, VALID_KEY_CHARS)

    def save(self, must_create: bool = False) -> None:
        if self.session_key is None:
            return self.create()
        using = router.db_for_write(self.model)
        row = self.create_model_instance(self._get_session(no_load=must_create))
        try:
            with commit_without_waiting(using):
                row.save(force_insert=must_create, force_update=not must_create, using=using)
        except IntegrityError as error:
            if must_create:
                raise CreateError from error
            raise
        except DatabaseError as error:
            if not must_create:
                raise UpdateError from error  # the row is gone (expired, or logged out elsewhere)
            raise


class StoredSession(dict):
    """A session's data as stored, with the `modified` flag code written for sessions sets."""

    modified = False


def session_change_as_stored(session, change: Callable[[dict], None]) -> None:
    """Apply `change` (it mutates the mapping it is given) to the stored session, atomically.

    Only the database backend has a row to lock; with another engine, a session never saved, or
    one this request changed already (making it the stored one would undo that), `change` is
    applied to this request's copy, which is written whole as usual.
    """
    if not isinstance(session, DatabaseSessionStore) or session.session_key is None or session.modified:
        change(session)
        return
    # Only the session row is written: its commit need not wait for the disk.
    with commit_without_waiting():
        row = (
            session.model.objects.select_for_update()
            .filter(session_key=session.session_key, expire_date__gt=timezone.now())
            .first()
        )
        if row is None:
            change(session)
            return
        stored = StoredSession(session.decode(row.session_data))
        change(stored)
        if stored.modified:
            row.session_data = session.encode(dict(stored))
            row.save(update_fields=["session_data"])
    for key in [key for key in session.keys() if key not in stored]:
        del session[key]
    session.update(stored)
    session.modified = False
