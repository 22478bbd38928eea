"""Register the shop's webhook with localstripe: `make run` and the docker stack, never Stripe.

    python manage.py localstripe_webhook [--shop http://127.0.0.1:8000] [--wait 60]

Waits until localstripe (STRIPE_API_BASE) and the shop (its /healthz/) both answer, then asks
localstripe to sign its events with STRIPE_WEBHOOK_SECRET and POST them to the shop's
/payment/webhook/. localstripe forgets webhooks when it stops, so this runs on every start. With
Stripe itself (STRIPE_API_BASE unset) it refuses: infra/README.md says how the endpoint is
registered there.
"""

import time
import urllib.error
import urllib.request
from urllib.parse import urlencode

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.urls import reverse

WEBHOOK_NAME = "shop"


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2):
            return True
    except urllib.error.HTTPError:
        return True  # an answer: the server is up
    except OSError:
        return False


class Command(BaseCommand):
    help = "Register the shop's webhook with localstripe (make run, the docker stack)."

    def add_arguments(self, parser):
        parser.add_argument("--shop", default="http://127.0.0.1:8000",
                            help="where localstripe reaches the shop")
        parser.add_argument("--wait", type=float, default=60, help="seconds to wait for both servers")

    def handle(self, *args, shop, wait, **options):
        base = settings.STRIPE_API_BASE.rstrip("/")
        if not base:
            raise CommandError("STRIPE_API_BASE is unset (Stripe itself): register the webhook in Stripe's "
                               "dashboard instead (infra/README.md, 'Payments')")
        deadline = time.monotonic() + wait
        for url in (f"{base}/js.stripe.com/v3/", f"{shop.rstrip('/')}/healthz/"):
            while not _answers(url):
                if time.monotonic() > deadline:
                    raise CommandError(f"nothing answered at {url} within {wait:g} s")
                time.sleep(0.3)
        # /payment/webhook/ (the public contract, DESIGN.md), outside the language prefixes.
        endpoint = shop.rstrip("/") + reverse("payment_webhook")
        body = urlencode({"url": endpoint, "secret": settings.STRIPE_WEBHOOK_SECRET}).encode()
        request = urllib.request.Request(f"{base}/_config/webhooks/{WEBHOOK_NAME}", data=body, method="POST")
        with urllib.request.urlopen(request, timeout=5):
            pass
        self.stdout.write(f"localstripe at {base} posts its events to {endpoint}")

