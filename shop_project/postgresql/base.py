"""Django's PostgreSQL backend, whose connection health check (CONN_HEALTH_CHECKS) is skipped for a
connection that answered a request's queries less than HEALTH_CHECK_AFTER_IDLE_SECONDS ago.

Django checks a kept connection (CONN_MAX_AGE) with a `SELECT 1` before each request's first
query: a round trip of its own on every page, about 0.5 ms of a 2 ms cart page. What the check
catches is a connection the server or the network dropped while it sat idle: a Lambda container
frozen between invocations, an idle timeout (RDS Proxy, a NAT gateway), a database restarted or
failed over. A connection that answered a moment ago was checked by that answer; one that sat
idle longer than this is checked as before. A server that goes away within the second costs the
next request on that connection an error, as one going away between the check and a query
always did; Django then closes it (errors_occurred) and the next request connects afresh.
"""

from time import monotonic

from django.db.backends.postgresql import base

# A busy container serves many requests a second and skips the check; one that waited longer
# (frozen, idle) checks first. Far below every idle timeout a connection meets.
HEALTH_CHECK_AFTER_IDLE_SECONDS = 1.0


class DatabaseWrapper(base.DatabaseWrapper):
    # When the connection last finished a request's queries without an error (monotonic).
    answered_at = float("-inf")

    def close_if_unusable_or_obsolete(self):
        # Runs when a request starts and when it ends. health_check_done is reset by each run, and
        # set again only by the request's first query: still set here means a request just used
        # the connection (and errors_occurred says whether it failed).
        if self.connection is not None and self.health_check_done and not self.errors_occurred:
            self.answered_at = monotonic()
        super().close_if_unusable_or_obsolete()

    def close_if_health_check_failed(self):
        recently_answered = monotonic() - self.answered_at < HEALTH_CHECK_AFTER_IDLE_SECONDS
        if self.connection is not None and not self.health_check_done and recently_answered:
            self.health_check_done = True
            return
        super().close_if_health_check_failed()
