"""The shop's one way to Stripe: the SDK configured once per process from the settings.

Imported only by the code that talks to Stripe (the SDK costs ~0.2 s to import, which every
Lambda cold start would pay). Every call has a timeout and a bounded number of retries, names
the pinned API version, and goes to STRIPE_API_BASE when set (localstripe in development).
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.signals import setting_changed

if TYPE_CHECKING:
    import stripe


@cache
def stripe_client() -> stripe.StripeClient:
    import stripe

    base = settings.STRIPE_API_BASE
    return stripe.StripeClient(
        settings.STRIPE_SECRET_KEY,
        stripe_version=settings.STRIPE_API_VERSION,
        base_addresses={"api": base} if base else None,
        max_network_retries=settings.STRIPE_MAX_NETWORK_RETRIES,
        http_client=stripe.RequestsClient(timeout=settings.STRIPE_TIMEOUT_SECONDS),
    )


def _forget_client(*, setting, **kwargs):
    # Tests point the shop at their own localstripe with override_settings.
    if setting.startswith("STRIPE_"):
        stripe_client.cache_clear()


setting_changed.connect(_forget_client)
