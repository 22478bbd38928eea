"""Celery tasks of the orders app: they take ids, load, and call a service."""

import logging
from datetime import timedelta

from apps.orders import exceptions, services
from shop_project.celery import app

logger = logging.getLogger(__name__)

# Exponential backoff between sends: 30 s, 60 s, 120 s, 240 s, 480 s (about 15 minutes in all).
CONFIRMATION_MAX_RETRIES = 5
CONFIRMATION_FIRST_RETRY_SECONDS = 30
# A delivery that meets another worker's live claim comes back this long after the lease ends,
# when the claim can be judged: sent by then, or taken over.
CLAIM_JUDGED_AFTER = timedelta(seconds=1)


@app.task(bind=True, max_retries=CONFIRMATION_MAX_RETRIES)
def order_created(self, order_id):
    """E-mail the customer the confirmation of their order, once.

    ConfirmationGivenUpError is left to propagate: the message fails until the queue
    dead-letters it. So does the last retry's failure, once the order is marked failed.
    """
    send_once_or_retry(self, services.CONFIRMATION, order_id)


def send_once_or_retry(task, email: services.OnceEmail, order_id: int) -> None:
    """The body of a task that sends an OnceEmail (order_created, the payment's invoice)."""
    try:
        services.once_email_send(email, order_id=order_id)
    except exceptions.ConfirmationClaimedError as claimed:
        # The worker holding the claim may be dead, and this delivery the only one left for the
        # order: not acknowledged and forgotten, but handed on to the end of the lease, routed
        # like a retry and keeping this delivery's retry count (waiting is not a failed send).
        retries = task.request.retries
        if isinstance(claimed, exceptions.ConfirmationOutcomeUnknownError):
            # The claim is this delivery's own, kept after a send of unknown outcome: that send
            # counts as a retry, so a server that always fails this way costs a bounded number of
            # e-mails, one per lease, and the last one gives up.
            if retries >= task.max_retries:
                services.once_email_give_up(email, order_id=order_id, error=claimed.error)
                raise
            retries += 1
        task.signature_from_request(
            task.request, [order_id], {}, eta=claimed.lease_ends_at + CLAIM_JUDGED_AFTER, retries=retries,
        ).apply_async(confirm_timeout=services.PUBLISH_CONFIRM_TIMEOUT_SECONDS)
        logger.info("%s; handed on to %s", claimed, claimed.lease_ends_at + CLAIM_JUDGED_AFTER)
    except exceptions.ConfirmationNotSentError as error:
        if task.request.retries >= task.max_retries:
            services.once_email_give_up(email, order_id=order_id, error=str(error))
            raise
        countdown = CONFIRMATION_FIRST_RETRY_SECONDS * 2**task.request.retries
        raise task.retry(
            exc=error, countdown=countdown, confirm_timeout=services.PUBLISH_CONFIRM_TIMEOUT_SECONDS
        ) from error


@app.task
def confirmations_sweep(min_age_seconds=300):
    """Publish again the confirmations that should have been sent by now (every 5 minutes)."""
    published = services.confirmations_publish_overdue(min_age_seconds=min_age_seconds)
    if published:
        logger.info("sweep published %s overdue confirmation(s)", published)
    return published
