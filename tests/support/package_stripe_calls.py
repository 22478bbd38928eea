"""The Stripe calls the shop makes, run inside the unzipped Lambda package against localstripe.

tests/test_lambda_package.py sends this file's text as a `raw_command` event (what
`zappa invoke --raw` sends), so it runs in the function's process with only the package and the
Lambda runtime on sys.path: a call that needs a module the package leaves out (zappa_settings.json
"exclude"/"exclude_glob", e.g. stripe/params) fails here. It is never imported by the tests.
It prints one line, MARK and a JSON object: what each call answered, the error classes caught,
and every `stripe` module the calls loaded.
"""

import hashlib
import hmac
import json
import sys
import time

import django

MARK = "@@stripe-calls@@ "


def signed(payload: str, secret: str) -> str:
    """A Stripe-Signature header for `payload`, made as Stripe makes it (HMAC-SHA256 of "t.payload")."""
    timestamp = int(time.time())
    signature = hmac.new(secret.encode(), f"{timestamp}.{payload}".encode(), hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={signature}"


def run() -> dict:
    django.setup()  # a no-op if the handler has set Django up already
    import stripe
    from django.conf import settings

    from apps.payment.stripe_api import stripe_client

    client = stripe_client()
    v1 = client.v1
    out: dict = {}

    customer = v1.customers.create(params={"email": "minjun@example.com", "name": "김민준"})
    out["customer"] = [customer.id, v1.customers.retrieve(customer.id).name]

    setup = v1.setup_intents.create(params={"customer": customer.id, "payment_method_types": ["card"]})
    out["setup_intent"] = [setup.id, v1.setup_intents.retrieve(setup.id).status]

    card = {"number": "4242424242424242", "exp_month": 12, "exp_year": 2034, "cvc": "123"}
    method = v1.payment_methods.create(params={"type": "card", "card": card})
    out["payment_method"] = [method.id, v1.payment_methods.retrieve(method.id).card.last4]

    intent = v1.payment_intents.create(
        params={"amount": 1990, "currency": "usd", "metadata": {"order_id": "41"},
                "payment_method": method.id},
        options={"idempotency_key": "order-41-payment"},
    )
    updated = v1.payment_intents.update(intent.id, params={"metadata": {"order_id": "41", "attempt": "2"}})
    confirmed = v1.payment_intents.confirm(intent.id)
    again = v1.payment_intents.retrieve(intent.id)
    out["payment_intent"] = {"id": intent.id, "created": intent.status,
                             "metadata": updated.metadata.to_dict(), "confirmed": confirmed.status,
                             "retrieved": [again.status, again.amount, again.currency]}

    refund = v1.refunds.create(params={"payment_intent": intent.id},
                               options={"idempotency_key": "order-41-refund"})
    listed = v1.refunds.list(params={"payment_intent": intent.id})
    out["refund"] = {"status": refund.status, "amount": refund.amount,
                     "listed": [r.id == refund.id for r in listed.data]}

    unpaid = v1.payment_intents.create(params={"amount": 5000, "currency": "krw",
                                               "metadata": {"order_id": "42"}})
    canceled = v1.payment_intents.cancel(unpaid.id)
    out["canceled"] = [canceled.status, v1.payment_intents.retrieve(unpaid.id).status]

    errors = {}
    try:
        v1.payment_intents.retrieve("pi_not_there")
    except stripe.InvalidRequestError as error:
        errors["InvalidRequestError"] = error.http_status
    decline_card = {**card, "number": "4000000000000341"}  # declined when charged (see DESIGN.md)
    declined = v1.payment_methods.create(params={"type": "card", "card": decline_card})
    try:
        v1.payment_intents.create(params={"amount": 100, "currency": "usd", "payment_method": declined.id,
                                          "confirm": True})
    except stripe.CardError as error:
        errors["CardError"] = error.code

    # A webhook as Stripe posts it: the event's JSON, signed with the endpoint's secret.
    secret = settings.STRIPE_WEBHOOK_SECRET
    payload = json.dumps({"id": "evt_package_1", "object": "event", "type": "payment_intent.succeeded",
                          "api_version": settings.STRIPE_API_VERSION, "created": int(time.time()),
                          "data": {"object": {"id": intent.id, "object": "payment_intent", "amount": 1990,
                                              "currency": "usd", "metadata": {"order_id": "41"}}}})
    header = signed(payload, secret)
    by_client = client.construct_event(payload, header, secret)
    by_webhook = stripe.Webhook.construct_event(payload, header, secret, tolerance=300)
    out["webhook"] = [[event.type, event.data.object.id, event.data.object.metadata["order_id"]]
                      for event in (by_client, by_webhook)]
    try:
        client.construct_event(payload.replace("1990", "1"), header, secret)
    except stripe.SignatureVerificationError:
        errors["SignatureVerificationError"] = "tampered"
    try:
        stripe.Webhook.construct_event(payload, signed(payload, secret + "x"), secret)
    except stripe.SignatureVerificationError:
        errors["SignatureVerificationError (wrong secret)"] = "refused"
    out["errors"] = errors

    out["modules"] = sorted(name for name in sys.modules if name == "stripe" or name.startswith("stripe."))
    return out


print(MARK + json.dumps(run()), flush=True)
