"""Transactions: ones whose commit does not wait for the disk, and telling a lost lock race.

PostgreSQL makes a commit durable by waiting until its WAL is flushed to disk (fdatasync): on
the development machine a busy disk made that 7-10 ms per commit, against 0.6-2 ms without the
wait, and the checkout journey commits four times. With synchronous_commit off for one
transaction, its commit returns at once and the WAL writer flushes it within a fraction of a
second (3 x wal_writer_delay at most): other transactions see the write at once, the database
stays consistent, and only a database crash in that fraction of a second loses it.

Only for writes whose loss is harmless: a session (the cart's contents in a shopper's session,
or which orders it placed, which the next page settles again from the cart's tokens), and the
QUEUED mark of a confirmation (without it the sweep publishes the confirmation again, and the
claim sends one e-mail). Never for an order, its stock or a payment.
"""

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import OperationalError, transaction

# PostgreSQL's deadlock_detected and serialization_failure: the transaction was rolled back whole,
# and the same work may simply run again.
_LOCK_RACE_SQLSTATES = {"40P01": "deadlock", "40001": "serialization failure"}


def lock_race(error: OperationalError) -> str | None:
    """"deadlock" or "serialization failure" if that is what the database refused, else None."""
    cause = error.__cause__
    sqlstate = getattr(cause, "sqlstate", None) or getattr(cause, "pgcode", None)
    return _LOCK_RACE_SQLSTATES.get(sqlstate)


@contextmanager
def commit_without_waiting(using: str | None = None) -> Iterator[None]:
    """A transaction (atomic) whose commit does not wait for the disk, on PostgreSQL.

    Inside a caller's transaction it is a savepoint, and the caller's commit waits as usual:
    a setting for the whole transaction is not this block's to change.
    """
    connection = transaction.get_connection(using)
    outermost = not connection.in_atomic_block
    with transaction.atomic(using=using):
        if outermost and connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit TO OFF")
        yield
