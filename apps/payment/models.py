"""Stripe events the webhook has handled: each event id once, recorded with its effect."""

from django.db import models


class StripeEvent(models.Model):
    """One Stripe event (its `evt_…` id), written in the transaction that applies its effect.

    Stripe delivers an event at least once, and sometimes several deliveries at once: the unique
    id makes every delivery after the first a no-op, and a concurrent one waits on the index
    until the first commits (then it is a duplicate) or rolls back (then it applies the event).
    """

    event_id = models.CharField(max_length=255, unique=True)
    type = models.CharField(max_length=100)
    # The order the event was about, when the shop found one (kept as a plain id: an event
    # outlives nothing it names, and deleting an order must not delete its payment history).
    order_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    # What the shop did with it, in a few words ("paid", "duplicate charge refunded", "ignored").
    outcome = models.CharField(max_length=200, blank=True)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-received_at"]

    def __str__(self):
        return f"{self.type} {self.event_id}"
