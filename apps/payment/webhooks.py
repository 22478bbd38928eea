"""Stripe's webhook (/payment/webhook/): each signed event applied once, answered at once.

The only view exempt from CSRF: Stripe's servers cannot hold a CSRF token, and the signature
(Stripe-Signature, HMAC-SHA256 of the body with the endpoint's secret, checked by the SDK with
its tolerance for old timestamps) is what proves the request comes from Stripe. Anything that
does not verify is a 400 that changes nothing, logged in one line. Slow work (e-mails, the
invoice) is published to Celery on commit by the code that marks an order; this view answers
as soon as the event's transaction commits.
"""

import logging

from django.conf import settings
from django.http import HttpResponse, HttpResponseBadRequest
from django.http.request import RawPostDataException
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from apps.payment import services

logger = logging.getLogger(__name__)

# Seconds a signature's timestamp may lie in the past: the SDK's default, named here so that a
# change is a decision (a replayed old delivery outside it is refused).
SIGNATURE_TOLERANCE_SECONDS = 300


@csrf_exempt  # the signature is checked instead (module docstring)
@require_POST
def stripe_webhook(request):
    # Imported here: urls import this module at start, and the SDK costs a cold start ~0.2 s.
    import stripe

    try:
        payload = request.body.decode("utf-8")
    except (RawPostDataException, UnicodeDecodeError) as error:
        return _refused(request, f"unreadable body ({type(error).__name__})")
    try:
        event = stripe.Webhook.construct_event(
            payload, request.headers.get("Stripe-Signature"), settings.STRIPE_WEBHOOK_SECRET,
            tolerance=SIGNATURE_TOLERANCE_SECONDS,
        )
    except stripe.SignatureVerificationError as error:
        return _refused(request, f"bad signature ({error.user_message or error})")
    except (ValueError, TypeError, AttributeError) as error:  # signed, but not a JSON object
        return _refused(request, f"not a Stripe event ({type(error).__name__})")
    event = event.to_dict()
    event_id, event_type, data = event.get("id"), event.get("type"), event.get("data")
    data_object = data.get("object") if isinstance(data, dict) else None
    if not isinstance(event_id, str) or not isinstance(event_type, str) or not isinstance(data_object, dict):
        return _refused(request, "not a Stripe event (no id, type or data.object)")
    try:
        outcome = services.stripe_event_handle(
            event_id=event_id, event_type=event_type, data_object=data_object
        )
    except stripe.StripeError as error:
        # A refund the event needs could not be made: nothing was recorded, Stripe delivers the
        # event again later (it retries anything but a 2xx).
        logger.warning("Stripe event %s (%s) not applied: Stripe answered %s; it will be delivered again",
                       event_id, event_type, error)
        return HttpResponse("Stripe unavailable, try again\n", status=503, content_type="text/plain")
    logger.info("Stripe event %s (%s): %s", event_id, event_type, outcome)
    return HttpResponse(f"{outcome}\n", content_type="text/plain")


def _refused(request, reason: str) -> HttpResponseBadRequest:
    # The sender's mistake (or an attacker's): one line, no traceback, nothing written.
    logger.warning("Stripe webhook refused from %s: %s", request.META.get("REMOTE_ADDR", "?"), reason[:200])
    response = HttpResponseBadRequest(f"{reason}\n", content_type="text/plain")
    # This line says why; django.request's "Bad Request: /payment/webhook/" would be a second.
    response._has_been_logged = True
    return response
