"""Checkout: the form, turning the session cart into an order, and the thank-you page."""

import threading
from decimal import Decimal
from functools import partial
from importlib import import_module

import pytest
from django.conf import settings
from django.contrib.messages.middleware import MessageMiddleware
from django.db import connections
from django.test import Client, RequestFactory
from django.urls import reverse
from pytest_django.asserts import assertContains, assertNotContains, assertRedirects, assertTemplateUsed

from apps.cart.cart import Cart
from apps.orders import services
from apps.orders.forms import OrderCreateForm
from apps.orders.models import Order, OrderItem
from apps.orders.tests.factories import CUSTOMER
from apps.shop.tests.factories import ProductFactory

CREATE_URL = reverse("orders:order_create")
CART_URL = reverse("cart:cart_detail")



def add_to_cart(client, product, quantity=1):
    """Put a product in the cart the way a shopper does; following the redirect shows (and so
    uses up) the "Added ..." notice, so that later pages carry only their own messages."""
    response = client.post(
        reverse("cart:cart_add", args=[product.id]),
        {"quantity": quantity, "override": "False"},
        follow=True,
    )
    assert response.redirect_chain == [(CART_URL, 302)]


def shown_messages(response) -> list[str]:
    """The messages the rendered page showed (use on a response fetched with follow=True)."""
    return [str(message) for message in response.context["messages"]]


def cart_items(client) -> dict:
    return client.session.get(settings.CART_SESSION_ID, {}).get("items", {})


def thank_you_url(order_id) -> str:
    return reverse("orders:order_created", args=[order_id])


@pytest.fixture
def lamp(db):
    return ProductFactory(name="Desk lamp", price=Decimal("19.90"), stock=5)


@pytest.fixture
def mug(db):
    return ProductFactory(name="Mug", price=Decimal("7.50"), stock=10)


@pytest.fixture
def filled_cart(client, lamp, mug):
    """Two of the lamp and three mugs in the `client`'s cart."""
    add_to_cart(client, lamp, 2)
    add_to_cart(client, mug, 3)
    return client


@pytest.mark.django_db
class TestOrderCreate:
    def test_shopper_is_sent_to_the_thank_you_page_of_the_new_order(self, filled_cart):
        response = filled_cart.post(CREATE_URL, CUSTOMER)

        order = Order.objects.get()
        assertRedirects(response, thank_you_url(order.id))

    def test_order_holds_the_six_customer_fields(self, filled_cart):
        filled_cart.post(CREATE_URL, CUSTOMER)

        order = Order.objects.get()
        assert {field: getattr(order, field) for field in CUSTOMER} == CUSTOMER
        assert order.paid is False

    def test_one_item_per_cart_line_at_the_database_price(self, filled_cart, lamp, mug):
        filled_cart.post(CREATE_URL, CUSTOMER)

        order = Order.objects.get()
        items = {item.product_id: (item.price, item.quantity) for item in order.items.all()}
        assert items == {lamp.id: (Decimal("19.90"), 2), mug.id: (Decimal("7.50"), 3)}
        assert OrderItem.objects.count() == 2
        assert order.get_total_cost() == Decimal("62.30")

    def test_stock_is_taken(self, filled_cart, lamp, mug):
        filled_cart.post(CREATE_URL, CUSTOMER)

        lamp.refresh_from_db()
        mug.refresh_from_db()
        assert (lamp.stock, mug.stock) == (3, 7)

    def test_cart_is_emptied(self, filled_cart):
        filled_cart.post(CREATE_URL, CUSTOMER)

        assert settings.CART_SESSION_ID not in filled_cart.session
        assertContains(filled_cart.get(CART_URL), '<p class="empty">Your cart is empty.', html=False)

    def test_thank_you_page_shows_the_order_number(self, filled_cart):
        response = filled_cart.post(CREATE_URL, CUSTOMER, follow=True)

        order = Order.objects.get()
        assertTemplateUsed(response, "orders/order/created.html")
        assertContains(response, f'<strong class="order-number">{order.id}</strong>', html=True)
        assertContains(response, "2 × Desk lamp")
        assertContains(response, "Total: $62.30")

    def test_price_changed_after_adding_to_cart_is_charged_at_the_current_price(self, client, lamp):
        add_to_cart(client, lamp, 2)
        lamp.price = Decimal("24.00")
        lamp.save()

        client.post(CREATE_URL, CUSTOMER)

        item = OrderItem.objects.get()
        assert item.price == Decimal("24.00")
        assert item.order.get_total_cost() == Decimal("48.00")

    def test_last_units_can_be_bought(self, client, lamp):
        lamp.stock = 2
        lamp.save()
        add_to_cart(client, lamp, 2)

        client.post(CREATE_URL, CUSTOMER)

        lamp.refresh_from_db()
        assert lamp.stock == 0
        assert Order.objects.count() == 1


@pytest.mark.django_db
class TestOrderCreateInvalidForm:
    INVALID = {**CUSTOMER, "first_name": "", "email": "not-an-email"}

    def test_form_is_shown_again_with_its_errors(self, filled_cart):
        response = filled_cart.post(CREATE_URL, self.INVALID)

        assert response.status_code == 200
        assertTemplateUsed(response, "orders/order/create.html")
        assert set(response.context["form"].errors) == {"first_name", "email"}
        assertContains(response, "This field is required.")
        assertContains(response, "Enter a valid email address.")

    def test_no_order_is_placed_and_cart_and_stock_are_kept(self, filled_cart, lamp, mug):
        filled_cart.post(CREATE_URL, self.INVALID)

        assert not Order.objects.exists()
        assert cart_items(filled_cart) == {str(lamp.id): 2, str(mug.id): 3}
        lamp.refresh_from_db()
        mug.refresh_from_db()
        assert (lamp.stock, mug.stock) == (5, 10)


@pytest.mark.django_db
class TestOrderCreateShortStock:
    @pytest.fixture
    def response(self, filled_cart, lamp):
        # Someone else bought most of the lamps after this shopper put two in the cart.
        lamp.stock = 1
        lamp.save()
        return filled_cart.post(CREATE_URL, CUSTOMER)

    def test_form_is_shown_again_with_a_message_naming_the_product(self, response):
        assert response.status_code == 200
        assertTemplateUsed(response, "orders/order/create.html")
        assert response.context["form"].non_field_errors() == [
            "Not enough stock for Desk lamp (only 1 left, you asked for 2)."
        ]
        assertContains(response, "Not enough stock for Desk lamp (only 1 left, you asked for 2).")

    def test_no_order_is_placed(self, response):
        assert not Order.objects.exists()
        assert not OrderItem.objects.exists()

    def test_cart_and_stock_are_kept(self, response, filled_cart, lamp, mug):
        assert cart_items(filled_cart) == {str(lamp.id): 2, str(mug.id): 3}
        lamp.refresh_from_db()
        mug.refresh_from_db()
        # Not even the mugs, which were in stock: all or nothing.
        assert (lamp.stock, mug.stock) == (1, 10)


@pytest.mark.django_db
class TestOrderCreateUnavailableProduct:
    def test_product_withdrawn_after_adding_is_not_ordered_and_is_named(self, filled_cart, lamp, mug):
        lamp.available = False
        lamp.save()

        response = filled_cart.post(CREATE_URL, CUSTOMER)

        assert response.status_code == 200
        assert not Order.objects.exists()
        assert response.context["form"].non_field_errors() == [
            "Desk lamp can no longer be bought. Please review your cart."
        ]
        assertContains(response, "Desk lamp can no longer be bought.")
        mug.refresh_from_db()
        assert mug.stock == 10

    def test_checkout_page_drops_a_withdrawn_product_with_a_notice(self, filled_cart, lamp):
        lamp.available = False
        lamp.save()

        response = filled_cart.get(CREATE_URL)

        assert response.status_code == 200
        assert [line.product.name for line in response.context["cart"]] == ["Mug"]
        assert shown_messages(response) == [
            "Desk lamp is no longer available and was removed from your cart."
        ]


@pytest.mark.django_db
class TestOrderCreateDoubleSubmit:
    def test_second_post_of_the_same_form_places_no_second_order(self, filled_cart, lamp):
        first = filled_cart.post(CREATE_URL, CUSTOMER)
        second = filled_cart.post(CREATE_URL, CUSTOMER, follow=True)

        order = Order.objects.get()
        assertRedirects(first, thank_you_url(order.id))
        assert second.redirect_chain == [(CART_URL, 302)]
        assert shown_messages(second) == ["Your cart is empty."]
        lamp.refresh_from_db()
        assert lamp.stock == 3


def _request_over_session(session_key):
    """A checkout request that loads the session `session_key` into its own SessionStore, as a
    second worker handling the same browser's request would."""
    request = RequestFactory().post(CREATE_URL, CUSTOMER)
    request.session = import_module(settings.SESSION_ENGINE).SessionStore(session_key=session_key)
    MessageMiddleware(lambda r: None).process_request(request)
    return request


@pytest.mark.django_db
class TestOrderCreateConcurrentSubmit:
    """The same cart submitted twice at once (a double click served by two workers): both
    requests read the session before either saved the emptied cart."""

    def test_same_cart_makes_one_order_and_takes_stock_once(self, filled_cart, lamp, mug):
        session_key = filled_cart.session.session_key
        first_cart = Cart(_request_over_session(session_key))
        second_cart = Cart(_request_over_session(session_key))
        assert first_cart.token is not None
        assert first_cart.token == second_cart.token
        customer = services.Customer(**CUSTOMER)

        first = services.order_create(cart=first_cart, customer=customer)
        second = services.order_create(cart=second_cart, customer=customer)

        assert second == first
        assert Order.objects.count() == 1
        assert OrderItem.objects.count() == 2
        lamp.refresh_from_db()
        mug.refresh_from_db()
        assert (lamp.stock, mug.stock) == (3, 7)
        assert first_cart.quantities() == {} and second_cart.quantities() == {}


def _at_once(*calls):
    """Run the calls together, each in its own thread and so on its own database connection;
    returns what each returned or raised."""
    barrier = threading.Barrier(len(calls))
    results = [None] * len(calls)

    def run(index, call):
        try:
            barrier.wait(timeout=10)
            results[index] = call()
        except Exception as error:  # noqa: BLE001 - handed back to the test, which says what it expected
            results[index] = error
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(thread.is_alive() for thread in threads), "a checkout never finished (deadlock?)"
    return results


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
class TestOrderCreateConcurrentOnPostgres:
    """Real concurrent transactions, which only a server database with row locks can run."""

    def test_last_unit_goes_to_one_buyer_only(self):
        lamp = ProductFactory(name="Desk lamp", stock=1)
        alice, bob = Client(), Client()
        add_to_cart(alice, lamp)
        add_to_cart(bob, lamp)

        responses = _at_once(
            partial(alice.post, CREATE_URL, CUSTOMER), partial(bob.post, CREATE_URL, CUSTOMER)
        )

        assert sorted(r.status_code for r in responses) == [200, 302], responses
        assert Order.objects.count() == 1
        lamp.refresh_from_db()
        assert lamp.stock == 0
        (refused,) = [r for r in responses if r.status_code == 200]
        assertContains(refused, "Not enough stock for Desk lamp (only 0 left, you asked for 1).")

    def test_same_cart_submitted_twice_at_once_makes_one_order(self, client):
        lamp = ProductFactory(stock=5)
        add_to_cart(client, lamp, 2)
        session_key = client.session.session_key
        # Both carts read the session here, before either checkout empties it.
        carts = [Cart(_request_over_session(session_key)) for _ in range(2)]
        customer = services.Customer(**CUSTOMER)

        results = _at_once(
            *(partial(services.order_create, cart=cart, customer=customer) for cart in carts)
        )

        assert all(isinstance(result, Order) for result in results), results
        assert results[0].id == results[1].id
        assert Order.objects.count() == 1
        lamp.refresh_from_db()
        assert lamp.stock == 3


@pytest.mark.django_db
class TestOrderCreateEmptyCart:
    def test_get_sends_shopper_to_the_cart_with_a_message(self, client):
        response = client.get(CREATE_URL, follow=True)

        assert response.redirect_chain == [(CART_URL, 302)]
        assert shown_messages(response) == ["Your cart is empty."]

    def test_post_sends_shopper_to_the_cart_with_a_message_and_places_no_order(self, client):
        response = client.post(CREATE_URL, CUSTOMER, follow=True)

        assert response.redirect_chain == [(CART_URL, 302)]
        assert shown_messages(response) == ["Your cart is empty."]
        assert not Order.objects.exists()

    def test_service_refuses_an_empty_cart(self, client):
        client.get(CART_URL)  # gives the client a session
        cart = Cart(_request_over_session(client.session.session_key))

        with pytest.raises(services.EmptyCartError):
            services.order_create(cart=cart, customer=services.Customer(**CUSTOMER))
        assert not Order.objects.exists()


@pytest.mark.django_db
class TestCheckoutPage:
    def test_get_shows_the_cart_lines_and_an_empty_form(self, filled_cart):
        response = filled_cart.get(CREATE_URL)

        assert response.status_code == 200
        assertTemplateUsed(response, "orders/order/create.html")
        assertContains(response, "2 × Desk lamp <span>$39.80</span>", html=False)
        assertContains(response, "3 × Mug <span>$22.50</span>", html=False)
        assertContains(response, "Total: $62.30")
        form = response.context["form"]
        assert isinstance(form, OrderCreateForm) and not form.is_bound
        for field in CUSTOMER:
            assertContains(response, f'name="{field}"')
        assertContains(response, 'name="csrfmiddlewaretoken"')


@pytest.mark.django_db
class TestOrderCreated:
    @pytest.fixture
    def placed_order(self, filled_cart):
        """The order filled_cart's session placed through checkout (the session remembers it)."""
        filled_cart.post(CREATE_URL, CUSTOMER)
        return Order.objects.get()

    def test_session_that_placed_the_order_sees_it(self, filled_cart, placed_order):
        response = filled_cart.get(thank_you_url(placed_order.id))

        assert response.status_code == 200
        assertContains(response, "Thank you")

    def test_another_session_gets_404(self, placed_order):
        response = Client().get(thank_you_url(placed_order.id))

        assert response.status_code == 404
        assertNotContains(response, "order-number", status_code=404)

    def test_unknown_order_id_is_404(self, filled_cart, placed_order):
        response = filled_cart.get(thank_you_url(placed_order.id + 1000))

        assert response.status_code == 404
