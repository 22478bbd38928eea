"""Changing a session as the store holds it now, not as this request loaded it.

Django writes a session whole when a request ends, so of two requests of one shopper (two tabs)
that load it before either saves, the last to save wins and the other's change is lost. A change
that must not lose what another tab saved meanwhile goes through session_change_as_stored: it is
applied to the stored session under its row's lock, and this request's copy becomes the result,
which the session middleware then has no reason to write again.
"""

from collections.abc import Callable

from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.db import transaction
from django.utils import timezone


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
    with transaction.atomic():
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
