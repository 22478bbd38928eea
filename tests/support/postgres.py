"""Helpers for the tests that run a race on PostgreSQL."""

import threading
import time

from django.db import connection, connections, transaction


def wait_until_a_session_waits_for_a_lock(timeout: float = 10.0) -> None:
    """Return once another session of the test database waits for a row lock (say, a checkout
    blocked on a row the test's other connection holds), so that the race's next step comes
    after it; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
            )
            if cursor.fetchone()[0]:
                return
            time.sleep(0.01)
    raise AssertionError(f"no session waited for a lock within {timeout} s")


def deliver_together(task, order_ids, *, workers: int = 2, timeout: float = 120.0) -> None:
    """Run `task` for each order in `workers` threads at once, as that many workers each given
    every message: a barrier puts the deliveries of one order in flight together, order after
    order. Each thread has its own database connection; an error in any of them fails here."""
    start_together = threading.Barrier(workers)
    errors: list[BaseException] = []

    def worker():
        try:
            for order_id in order_ids:
                start_together.wait(timeout=10)
                task.apply(args=[order_id], throw=True)
        except BaseException as error:  # noqa: BLE001 - a thread cannot fail the test; reported below
            errors.append(error)
            start_together.abort()
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    assert errors == []


def in_transaction_held_open(work, *, done: threading.Event, release: threading.Event, outcome: list) -> None:
    """For a thread: run `work` in a transaction, set `done`, and commit only once `release` is
    set; "committed" or what was raised goes into `outcome`. A second writer started meanwhile
    meets this one's locks as it would a slow commit."""
    try:
        with transaction.atomic():
            work()
            done.set()
            assert release.wait(timeout=30)
        outcome.append("committed")
    except BaseException as error:  # noqa: BLE001 - handed back to the test
        outcome.append(error)
        done.set()
    finally:
        connections.close_all()
