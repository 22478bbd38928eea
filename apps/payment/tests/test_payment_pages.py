"""The shopper's payment pages against localstripe, over HTTP through the real SDK.

Each test places its order through checkout, as a shopper does, so the session that placed it
is the one that pays; the card goes into the SetupIntent the page's script asks for on submit,
as Stripe.js sends it (apps/payment/tests/cards.py). localstripe's state outlives the test:
every object is looked up by the id the shop stored.
"""

from decimal import Decimal
from importlib import import_module

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from apps.coupons.tests.factories import CouponFactory
from apps.orders.models import Order, OrderStatus
from apps.orders.tests.checkout import place_order
from apps.payment.stripe_api import stripe_client
from apps.payment.tests.cards import (
    DECLINED,
    DECLINED_AT_CHARGE,
    THREE_D_SECURE,
    VISA,
    CardDeclined,
    card_into_setup_intent,
    page_data,
    setup_client_secret,
)
from apps.shop.tests.factories import ProductFactory

pytestmark = pytest.mark.django_db

PROCESS_URL = reverse("payment:process")
COMPLETED_URL = reverse("payment:completed")
CANCELED_URL = reverse("payment:canceled")
SETUP_URL = reverse("payment:setup")


def shopper_with_cart(product, quantity: int) -> Client:
    client = Client()
    store = import_module(settings.SESSION_ENGINE).SessionStore()
    store[settings.CART_SESSION_ID] = {"token": None, "items": {str(product.id): quantity}}
    store.save()
    client.cookies[settings.SESSION_COOKIE_NAME] = store.session_key
    return client


@pytest.fixture
def lamp():
    return ProductFactory(name="Desk lamp", price=Decimal("19.90"), stock=10)


@pytest.fixture
def shopper(lamp):
    """A session that placed an order of two desk lamps (39.80), not yet on the payment page."""
    client = shopper_with_cart(lamp, 2)
    placed = place_order(client)
    assert placed.status_code == 302
    client.order = Order.objects.get(id=int(placed.url.rsplit("?order=", 1)[1]))
    client.payment_url = placed.url
    return client


def intent_of(order: Order):
    order.refresh_from_db()
    assert order.stripe_id.startswith("pi_")
    return stripe_client().v1.payment_intents.retrieve(order.stripe_id)


def pay(client: Client, localstripe, number: str):
    """Show the payment page, submit the card: ask for a SetupIntent, put the card into it, post
    the PaymentMethod."""
    page = client.get(client.payment_url)
    assert page.status_code == 200
    payment_method = card_into_setup_intent(localstripe, setup_client_secret(client, page), number)
    return client.post(client.payment_url, {"payment_method": payment_method})


def charges_of(intent) -> list[str]:
    """The statuses of the charges made on the PaymentIntent (localstripe lists charges by customer
    only, and these PaymentIntents have none)."""
    charges = stripe_client().v1.charges.list(params={"limit": 100}).auto_paging_iter()
    return [charge.status for charge in charges if charge.payment_intent == intent.id]


class TestPaymentPage:
    def test_checkout_leads_to_the_payment_page_which_makes_one_payment_intent_for_the_order(
        self, shopper, localstripe
    ):
        assert shopper.payment_url == f"{PROCESS_URL}?order={shopper.order.id}"

        page = shopper.get(shopper.payment_url)

        assert page.status_code == 200
        assert "Pay $39.80 USD" in page.content.decode()
        assert page_data(page, "setup-url") == f"{SETUP_URL}?order={shopper.order.id}"
        assert page_data(page, "publishable-key") == settings.STRIPE_PUBLISHABLE_KEY
        intent = intent_of(shopper.order)
        assert (intent.amount, intent.currency, intent.status) == (3980, "usd", "requires_payment_method")
        assert intent.metadata["order_id"] == str(shopper.order.id)
        assert intent.customer is None  # the PaymentMethod is used once, for this PaymentIntent

    def test_a_reload_reuses_the_payment_intent(self, shopper, localstripe):
        shopper.get(shopper.payment_url)
        first = intent_of(shopper.order).id

        again = shopper.get(shopper.payment_url)

        assert again.status_code == 200
        assert intent_of(shopper.order).id == first

    def test_without_an_order_number_it_shows_the_order_the_session_placed_last(self, shopper, localstripe):
        page = shopper.get(PROCESS_URL)

        assert page.status_code == 200
        assert page.context["order"].id == shopper.order.id

    def test_a_zero_decimal_currency_is_charged_in_whole_units(self, localstripe, settings):
        settings.SHOP_CURRENCY = "krw"
        client = shopper_with_cart(ProductFactory(price=Decimal("15000.00"), stock=5), 3)
        placed = place_order(client)

        assert client.get(placed.url).status_code == 200

        intent = intent_of(Order.objects.get())
        assert (intent.amount, intent.currency) == (45000, "krw")

    @pytest.mark.parametrize("who", ["no session", "another shopper", "staff"])
    def test_another_session_never_sees_the_order(self, shopper, lamp, localstripe, who, django_user_model):
        if who == "no session":
            other = Client()
        elif who == "another shopper":
            other = shopper_with_cart(lamp, 1)
            place_order(other)
        else:
            other = Client()
            other.force_login(django_user_model.objects.create_superuser("boss", "b@example.com", "pw"))

        for url in (PROCESS_URL, COMPLETED_URL, CANCELED_URL):
            response = other.get(f"{url}?order={shopper.order.id}")
            assert response.status_code == 404, url
            assert shopper.order.email not in response.content.decode()
        assert other.post(shopper.payment_url, {"payment_method": "pm_abc"}).status_code == 404
        refused = other.post(f"{SETUP_URL}?order={shopper.order.id}")
        assert (refused.status_code, refused.json()) == (404, {"error": "No such order."})
        shopper.order.refresh_from_db()
        assert shopper.order.stripe_id == ""  # nothing was made at Stripe for them

    @pytest.mark.parametrize("value", ["", "abc", "-1", "1e3", "٣", "9" * 40])
    def test_a_bad_order_number_is_a_404(self, shopper, value):
        assert shopper.get(f"{PROCESS_URL}?order={value}").status_code == 404

    @pytest.mark.parametrize("status", [OrderStatus.PAID, OrderStatus.CANCELLED])
    def test_a_paid_or_cancelled_order_says_so_instead_of_a_card_form(self, shopper, status):
        Order.objects.filter(id=shopper.order.id).update(status=status)

        page = shopper.get(shopper.payment_url)

        assert page.status_code == 200
        assert 'id="payment-form"' not in page.content.decode()
        said = "This order is paid" if status == OrderStatus.PAID else "was cancelled"
        assert said in page.content.decode()


class TestPaying:
    def test_a_card_pays_the_order_and_the_completed_page_says_paid(self, shopper, localstripe):
        paid = pay(shopper, localstripe, VISA)

        assert paid.status_code == 302 and paid.url == f"{COMPLETED_URL}?order={shopper.order.id}"
        intent = intent_of(shopper.order)
        assert (intent.status, intent.amount) == ("succeeded", 3980)
        completed = shopper.get(paid.url)
        assert completed.status_code == 200
        assert "Your order is paid" in completed.content.decode()
        # The payment page now says so too, and makes nothing new at Stripe.
        again = shopper.get(shopper.payment_url)
        assert "the order is paid" in again.content.decode()
        assert 'id="payment-form"' not in again.content.decode()
        assert intent_of(shopper.order).id == intent.id

    def test_a_card_declined_at_set_up_charges_nothing_and_another_card_pays(self, shopper, localstripe):
        page = shopper.get(shopper.payment_url)
        secret = setup_client_secret(shopper, page)

        with pytest.raises(CardDeclined, match="card_declined"):
            card_into_setup_intent(localstripe, secret, DECLINED)

        intent = intent_of(shopper.order)
        assert intent.status == "requires_payment_method" and intent.last_payment_error is None
        # The same form, another card: the SetupIntent the form asked for takes it.
        payment_method = card_into_setup_intent(localstripe, secret, VISA)
        paid = shopper.post(shopper.payment_url, {"payment_method": payment_method})
        assert paid.url == f"{COMPLETED_URL}?order={shopper.order.id}"
        assert intent_of(shopper.order).id == intent.id
        assert intent_of(shopper.order).status == "succeeded"

    def test_a_card_declined_at_charge_says_failed_and_the_order_is_payable_again(self, shopper, localstripe):
        declined = pay(shopper, localstripe, DECLINED_AT_CHARGE)

        assert declined.url == f"{COMPLETED_URL}?order={shopper.order.id}"
        failed_intent = intent_of(shopper.order)
        completed = shopper.get(declined.url)
        assert "Payment failed" in completed.content.decode()
        assert "Your card was declined." in completed.content.decode()
        assert f'href="{shopper.payment_url}"' in completed.content.decode()  # try again

        paid = pay(shopper, localstripe, VISA)

        assert "Your order is paid" in shopper.get(paid.url).content.decode()
        intent = intent_of(shopper.order)
        assert intent.id != failed_intent.id and intent.status == "succeeded"
        assert intent.metadata["order_id"] == str(shopper.order.id)
        # The declined one was cancelled before the new one was made: it can never charge.
        assert stripe_client().v1.payment_intents.retrieve(failed_intent.id).status == "canceled"

    def test_a_second_submit_charges_nothing_more(self, shopper, localstripe):
        page = shopper.get(shopper.payment_url)
        payment_method = card_into_setup_intent(localstripe, setup_client_secret(shopper, page), VISA)

        first = shopper.post(shopper.payment_url, {"payment_method": payment_method})
        second = shopper.post(shopper.payment_url, {"payment_method": payment_method})

        assert first.url == second.url == f"{COMPLETED_URL}?order={shopper.order.id}"
        intent = intent_of(shopper.order)
        assert intent.status == "succeeded"
        assert charges_of(intent) == ["succeeded"]

    def test_a_card_that_needs_3d_secure_brings_the_page_back_to_complete_it(self, shopper, localstripe):
        sent = pay(shopper, localstripe, THREE_D_SECURE)

        assert sent.url == shopper.payment_url
        page = shopper.get(sent.url)
        assert page_data(page, "intent-client-secret") == intent_of(shopper.order).client_secret
        assert intent_of(shopper.order).status == "requires_action"
        # The completed page sends the shopper back there until it is done.
        assert shopper.get(f"{COMPLETED_URL}?order={shopper.order.id}").url == shopper.payment_url

    @pytest.mark.parametrize("value", ["", "card_123", "pm_", "pm_a b", "pm_" + "x" * 300])
    def test_a_post_without_a_payment_method_id_is_a_message_not_a_500(self, shopper, localstripe, value):
        response = shopper.post(shopper.payment_url, {"payment_method": value}, follow=True)

        assert response.status_code == 200
        assert "The card was not read" in response.content.decode()

    def test_an_unknown_payment_method_is_a_message_not_a_500(self, shopper, localstripe):
        response = shopper.post(shopper.payment_url, {"payment_method": "pm_NoSuchMethod123"}, follow=True)

        assert response.status_code == 200
        assert "Please try another card." in response.content.decode()
        assert intent_of(shopper.order).status != "succeeded"
        assert pay(shopper, localstripe, VISA).url == f"{COMPLETED_URL}?order={shopper.order.id}"
        assert intent_of(shopper.order).status == "succeeded"

    def test_stripe_unreachable_is_a_503_that_says_nothing_was_charged(self, shopper, localstripe, settings):
        from devtools.localstripe import free_port

        settings.STRIPE_API_BASE = f"http://127.0.0.1:{free_port()}"
        settings.STRIPE_MAX_NETWORK_RETRIES = 0

        response = shopper.get(shopper.payment_url)

        assert response.status_code == 503
        assert "Nothing was charged" in response.content.decode()


class TestCardSetup:
    """POST /payment/setup/: what the card form's script asks for on submit."""

    def test_it_gives_a_setup_intent_for_the_card_and_changes_nothing_else(self, shopper, localstripe):
        page = shopper.get(shopper.payment_url)
        intent = intent_of(shopper.order)

        secret = setup_client_secret(shopper, page)

        setup = stripe_client().v1.setup_intents.retrieve(secret.split("_secret_", 1)[0])
        assert (setup.status, setup.usage, setup.customer) == ("requires_payment_method", "on_session", None)
        assert setup.metadata["order_id"] == str(shopper.order.id)
        assert intent_of(shopper.order).to_dict() == intent.to_dict()

    def test_it_needs_the_pages_csrf_token(self, shopper, localstripe):
        browser = Client(enforce_csrf_checks=True)
        browser.cookies = shopper.cookies

        refused = browser.post(f"{SETUP_URL}?order={shopper.order.id}")

        assert refused.status_code == 403
        assert setup_client_secret(browser, browser.get(shopper.payment_url)).startswith("seti_")

    def test_a_get_is_refused_with_a_message(self, shopper):
        response = shopper.get(f"{SETUP_URL}?order={shopper.order.id}")

        assert (response.status_code, response["Allow"]) == (405, "POST")
        assert response.json()["error"]

    @pytest.mark.parametrize("value", ["", "abc", "-1", "9" * 40, "999999"])
    def test_a_bad_order_number_is_a_404_with_a_message(self, shopper, value):
        response = shopper.post(f"{SETUP_URL}?order={value}")

        assert (response.status_code, response.json()) == (404, {"error": "No such order."})

    @pytest.mark.parametrize("status", [OrderStatus.PAID, OrderStatus.CANCELLED])
    def test_an_order_no_longer_awaiting_payment_gets_none(self, shopper, localstripe, status):
        Order.objects.filter(id=shopper.order.id).update(status=status)

        response = shopper.post(f"{SETUP_URL}?order={shopper.order.id}")

        assert response.status_code == 409
        assert response.json() == {"error": "This order can no longer be paid."}

    def test_stripe_unreachable_is_a_503_that_says_nothing_was_charged(self, shopper, localstripe, settings):
        from devtools.localstripe import free_port

        page = shopper.get(shopper.payment_url)
        settings.STRIPE_API_BASE = f"http://127.0.0.1:{free_port()}"
        settings.STRIPE_MAX_NETWORK_RETRIES = 0

        response = shopper.post(page_data(page, "setup-url"))

        assert response.status_code == 503
        assert "Nothing was charged" in response.json()["error"]


class TestStripeCallsPerPage:
    """What each step costs at Stripe, counted at the SDK's HTTP client (the calls still go to
    localstripe): the page load makes the PaymentIntent only, the submit the rest."""

    def test_the_first_load_makes_the_payment_intent_and_nothing_else(
        self, shopper, localstripe, stripe_requests
    ):
        shopper.get(shopper.payment_url)
        assert stripe_requests == ["POST /v1/payment_intents"]

    def test_a_reload_reads_the_payment_intent_only(self, shopper, localstripe, stripe_requests):
        shopper.get(shopper.payment_url)
        intent = intent_of(shopper.order).id
        stripe_requests.clear()

        shopper.get(shopper.payment_url)

        assert stripe_requests == [f"GET /v1/payment_intents/{intent}"]

    def test_the_submit_sets_up_the_card_then_pays_the_payment_intent(
        self, shopper, localstripe, stripe_requests
    ):
        page = shopper.get(shopper.payment_url)
        intent = intent_of(shopper.order).id
        stripe_requests.clear()

        payment_method = card_into_setup_intent(localstripe, setup_client_secret(shopper, page), VISA)
        shopper.post(shopper.payment_url, {"payment_method": payment_method})

        assert stripe_requests == [
            "POST /v1/setup_intents",
            f"GET /v1/payment_intents/{intent}",
            f"POST /v1/payment_intents/{intent}",
            f"POST /v1/payment_intents/{intent}/confirm",
        ]


class TestCompletedAndCanceledPages:
    def test_a_payment_still_processing_says_processing_then_failed(self, shopper, localstripe):
        """A SEPA debit localstripe declines half a second after it was sent: the one way it has
        to keep a PaymentIntent `processing` (cards succeed or fail at once)."""
        import time

        client = stripe_client()
        method = client.v1.payment_methods.create(
            params={"type": "sepa_debit", "sepa_debit": {"iban": "DE62370400440532013001"}})
        intent = client.v1.payment_intents.create(params={
            "amount": 3980, "currency": "eur", "payment_method": method.id,
            "payment_method_types": ["sepa_debit"], "confirm": True,
            "metadata": {"order_id": str(shopper.order.id)}})
        Order.objects.filter(id=shopper.order.id).update(stripe_id=intent.id)

        processing = shopper.get(f"{COMPLETED_URL}?order={shopper.order.id}")

        assert "Your payment is being processed" in processing.content.decode()
        while client.v1.payment_intents.retrieve(intent.id).status == "processing":
            time.sleep(0.1)
        failed = shopper.get(f"{COMPLETED_URL}?order={shopper.order.id}")
        assert "Payment failed" in failed.content.decode()

    def test_the_completed_page_before_any_payment_leads_to_the_card_form(self, shopper, localstripe):
        assert shopper.get(f"{COMPLETED_URL}?order={shopper.order.id}").url == shopper.payment_url
        shopper.get(shopper.payment_url)
        assert shopper.get(f"{COMPLETED_URL}?order={shopper.order.id}").url == shopper.payment_url

    def test_the_canceled_page_leads_back_to_the_card_form(self, shopper):
        page = shopper.get(f"{CANCELED_URL}?order={shopper.order.id}")

        assert page.status_code == 200
        assert "Nothing was charged" in page.content.decode()
        assert f'href="{shopper.payment_url}"' in page.content.decode()

    def test_the_order_summary_shows_the_coupon_discount_as_checkout_did(self, lamp):
        # Two lamps, 39.80, less 15 %: 5.97 off, 33.83 charged (as the cart and checkout showed).
        CouponFactory(code="WINTER15", discount=15)
        client = shopper_with_cart(lamp, 2)
        client.post(reverse("coupons:apply"), {"code": "winter15"})
        order_id = int(place_order(client).url.rsplit("?order=", 1)[1])

        page = client.get(f"{CANCELED_URL}?order={order_id}").content.decode()

        assert '<p class="subtotal">Subtotal: $39.80</p>' in page
        assert '<p class="discount">Discount (<span translate="no">WINTER15</span>), 15%: −$5.97</p>' in page
        assert '<p class="total">Total: $33.83</p>' in page
