"""pytest fixtures for payments: one localstripe server per test process, the shop pointed at it.

The root conftest.py loads this module as a plugin. Example:

    def test_something(localstripe):
        intent = stripe_client().v1.payment_intents.create(params={"amount": 1990, "currency": "usd"})

localstripe's state lives as long as the server (the session): a test names its own objects
(orders, webhooks) and looks them up by id, never by listing everything.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from csp.constants import SELF

from devtools.localstripe import PUBLISHABLE_KEY, SECRET_KEY, LocalStripe, localstripe_server


@pytest.fixture(scope="session")
def localstripe_session_server() -> Iterator[LocalStripe]:
    with localstripe_server() as server:
        yield server


@pytest.fixture
def localstripe(localstripe_session_server: LocalStripe, settings) -> LocalStripe:
    """The shop's Stripe settings pointed at this process's localstripe for the test."""
    settings.STRIPE_API_BASE = localstripe_session_server.api_base
    settings.STRIPE_JS_URL = localstripe_session_server.js_url
    settings.STRIPE_SECRET_KEY = SECRET_KEY
    settings.STRIPE_PUBLISHABLE_KEY = PUBLISHABLE_KEY
    # The payment page loads its Stripe.js: the policy allows this server's origin.
    from shop_project.settings.base import content_security_policy, stripe_js_sources

    js_url = localstripe_session_server.js_url
    settings.STRIPE_JS_SOURCES = stripe_js_sources(js_url)
    settings.CONTENT_SECURITY_POLICY = content_security_policy(
        static_origin=SELF, media_origin=SELF, stripe_js_url=js_url)
    return localstripe_session_server
