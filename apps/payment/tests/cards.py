"""What the card form's Stripe.js does, over HTTP, for the tests that pay without a browser.

`setup_client_secret` asks the shop for the SetupIntent as the card form's script does on
submit (POST the form's data-setup-url with its CSRF token). `card_into_setup_intent` sends the
card to localstripe's SetupIntent confirm with the publishable key, exactly the request its
Stripe.js stand-in's confirmCardSetup makes from the page (localstripe-v3.js), and returns the
PaymentMethod id the page would post. The browser
journey (tests/browser/test_payment_journey.py) types the card into the real element instead.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from html import unescape

from devtools.localstripe import PUBLISHABLE_KEY, LocalStripe

VISA = "4242424242424242"
# Declined when confirmed into a SetupIntent (attached to the Customer), like Stripe's.
DECLINED = "4000000000000002"
# Set up fine, declined when charged (localstripe's and Stripe's "charge customer fail").
DECLINED_AT_CHARGE = "4000000000000341"
# Needs 3-D Secure.
THREE_D_SECURE = "4000002760003184"


class CardDeclined(Exception):
    pass


def page_data(response, attribute: str) -> str:
    """A data- attribute of the payment form, as the page's script reads it."""
    found = re.search(rf'data-{attribute}="([^"]*)"', response.content.decode())
    assert found, f"no data-{attribute} on the page"
    return unescape(found.group(1))


def setup_client_secret(client, page) -> str:
    """POST the page's data-setup-url as process.js does; the SetupIntent's client secret."""
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]*)"', page.content.decode()).group(1)
    headers = {"X-CSRFToken": token, "Accept": "application/json"}
    response = client.post(page_data(page, "setup-url"), headers=headers)
    assert response.status_code == 200, response.content
    return response.json()["client_secret"]


def card_into_setup_intent(localstripe: LocalStripe, client_secret: str, number: str) -> str:
    setup_intent = client_secret.split("_secret_", 1)[0]
    body = json.dumps({
        "key": PUBLISHABLE_KEY,
        "use_stripe_sdk": True,
        "client_secret": client_secret,
        "payment_method_data": {
            "type": "card",
            "card": {"number": number, "exp_month": "12", "exp_year": "2034", "cvc": "123"},
            "billing_details": {"address": {"postal_code": "12345"}},
        },
    }).encode()
    request = urllib.request.Request(
        f"{localstripe.api_base}/v1/setup_intents/{setup_intent}/confirm", data=body, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            answer = json.load(response)
    except urllib.error.HTTPError as error:
        raise CardDeclined(json.load(error)["error"]["code"]) from error
    return answer["payment_method"]
