"""The configured Stripe client, against localstripe over HTTP through the real SDK."""

from django.test import override_settings

from apps.payment.stripe_api import stripe_client


class TestStripeClient:
    def test_talks_to_the_configured_server_with_the_pinned_version(self, localstripe, settings):
        intent = stripe_client().v1.payment_intents.create(
            params={"amount": 1990, "currency": "usd", "metadata": {"order_id": "7"}}
        )
        assert intent.id.startswith("pi_")
        again = stripe_client().v1.payment_intents.retrieve(intent.id)
        assert (again.amount, again.currency, again.metadata["order_id"]) == (1990, "usd", "7")
        requestor = stripe_client()._requestor
        assert requestor._options.stripe_version == settings.STRIPE_API_VERSION

    def test_a_changed_setting_gives_a_new_client(self, localstripe):
        before = stripe_client()
        with override_settings(STRIPE_SECRET_KEY="sk_test_other"):  # pragma: allowlist secret
            assert stripe_client() is not before
