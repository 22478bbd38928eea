"""Checkout: the form, turning the session cart into an order, and the thank-you page."""

import threading
import uuid
from decimal import Decimal
from functools import partial

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.db import connection, connections, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from pytest_django.asserts import assertContains, assertNotContains, assertRedirects, assertTemplateUsed

from apps.orders import selectors, services
from apps.orders.exceptions import (
    CartAlreadyOrderedError,
    CheckoutChangedError,
    EmptyCartError,
    OutOfStockError,
    PriceChanged,
    Shortage,
)
from apps.orders.forms import OrderCreateForm
from apps.orders.models import Order, OrderItem
from apps.orders.shown import ShownCheckout, ShownLine
from apps.orders.tests.checkout import checkout_form, hidden_fields, place_order
from apps.orders.tests.factories import CUSTOMER
from apps.shop.models import Product
from apps.shop.tests.factories import ProductFactory
from tests.support.messages import page_messages

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



def cart_items(client) -> dict:
    return client.session.get(settings.CART_SESSION_ID, {}).get("items", {})


def thank_you_url(order_id) -> str:
    return reverse("orders:order_created", args=[order_id])


def payment_url(order_id) -> str:
    """Where checkout sends the shopper (apps/payment; its tests follow it there)."""
    return f"{reverse('payment:process')}?order={order_id}"


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
    def test_shopper_is_sent_to_the_payment_page_of_the_new_order(self, filled_cart):
        response = place_order(filled_cart)

        order = Order.objects.get()
        assertRedirects(response, payment_url(order.id), fetch_redirect_response=False)

    def test_order_holds_the_six_customer_fields(self, filled_cart):
        place_order(filled_cart)

        order = Order.objects.get()
        assert {field: getattr(order, field) for field in CUSTOMER} == CUSTOMER
        assert order.paid is False

    def test_one_item_per_cart_line_at_the_database_price(self, filled_cart, lamp, mug):
        place_order(filled_cart)

        order = Order.objects.get()
        items = {item.product_id: (item.price, item.quantity) for item in order.items.all()}
        assert items == {lamp.id: (Decimal("19.90"), 2), mug.id: (Decimal("7.50"), 3)}
        assert OrderItem.objects.count() == 2
        assert order.get_total_cost() == Decimal("62.30")

    def test_stock_is_taken(self, filled_cart, lamp, mug):
        place_order(filled_cart)

        lamp.refresh_from_db()
        mug.refresh_from_db()
        assert (lamp.stock, mug.stock) == (3, 7)

    def test_the_stock_left_shows_at_once_on_the_cached_product_page(self, filled_cart, lamp):
        visitor = Client()  # no session: served from the catalog cache
        assertContains(visitor.get(lamp.get_absolute_url()), "Only 5 left.")

        place_order(filled_cart)

        assertContains(visitor.get(lamp.get_absolute_url()), "Only 3 left.")

    def test_a_sale_leaves_the_other_cached_catalog_pages_in_the_cache(
        self, filled_cart, lamp, mug, django_capture_on_commit_callbacks, django_assert_num_queries
    ):
        desk = ProductFactory(name="Oak desk", stock=4)
        visitor = Client()  # no session: served from the catalog cache
        # Pages that do not show the stock of what is sold: the lists, another product's page.
        unsold = [reverse("shop:product_list"), lamp.category.get_absolute_url(), desk.get_absolute_url()]
        for url in unsold:
            visitor.get(url)
        assertNotContains(visitor.get(mug.get_absolute_url()), "left.")

        with django_capture_on_commit_callbacks(execute=True):  # the commit, and what it runs
            place_order(filled_cart)

        assertContains(visitor.get(lamp.get_absolute_url()), "Only 3 left.")
        assertContains(visitor.get(mug.get_absolute_url()), "Only 7 left.")
        with django_assert_num_queries(0):
            pages = [visitor.get(url) for url in unsold]
        assert [page.status_code for page in pages] == [200, 200, 200]
        assertContains(pages[0], "Desk lamp")
        assertContains(pages[2], "Only 4 left.")

    def test_cart_is_emptied_once_the_thank_you_page_is_shown(self, filled_cart):
        place_order(filled_cart)
        filled_cart.get(thank_you_url(Order.objects.get().id))

        assert settings.CART_SESSION_ID not in filled_cart.session
        assertContains(filled_cart.get(CART_URL), '<p class="empty">Your cart is empty.', html=False)

    def test_thank_you_page_shows_the_order_number(self, filled_cart):
        place_order(filled_cart)

        order = Order.objects.get()
        response = filled_cart.get(thank_you_url(order.id))
        assertTemplateUsed(response, "orders/order/created.html")
        assertContains(response, f'<strong class="order-number">{order.id}</strong>', html=True)
        assertContains(response, "2 × Desk lamp")
        assertContains(response, "Total: $62.30")

    def test_price_changed_after_adding_to_cart_is_charged_at_the_current_price(self, client, lamp):
        add_to_cart(client, lamp, 2)
        lamp.price = Decimal("24.00")
        lamp.save()

        place_order(client)

        item = OrderItem.objects.get()
        assert item.price == Decimal("24.00")
        assert item.order.get_total_cost() == Decimal("48.00")

    def test_stock_is_taken_as_a_difference_never_as_an_absolute_value(self, filled_cart, lamp, mug):
        fields = {**checkout_form(filled_cart), **CUSTOMER}

        with CaptureQueriesContext(connection) as queries:
            filled_cart.post(CREATE_URL, fields)

        # One UPDATE takes every line's units, each on the condition that they are in stock.
        [sql] = [q["sql"] for q in queries if q["sql"].startswith('UPDATE "shop_product"')]
        assert "SET stock = stock - CASE id" in sql, sql
        for product, quantity in ((lamp, 2), (mug, 3)):
            assert f"WHEN {product.id} THEN {quantity}" in sql, sql
            assert f"(id = {product.id} AND stock >= {quantity})" in sql, sql

    def test_a_line_short_of_stock_at_the_update_takes_nothing(self, lamp, mug):
        # The UPDATE's condition is the last guard, behind the row locks and the check of stock
        # that checkout makes first: called past that check, it names the line and, rolled back
        # with the order's transaction, leaves every product's stock as it was.
        Product.objects.filter(id=lamp.id).update(stock=1)
        Product.objects.filter(id=mug.id).update(stock=5)
        products = list(Product.objects.filter(id__in=[lamp.id, mug.id]).order_by("id"))

        with pytest.raises(OutOfStockError) as refused, transaction.atomic():
            services._stock_take(products, {lamp.id: 2, mug.id: 1})

        [shortage] = refused.value.shortages
        assert (shortage.product_id, shortage.available, shortage.wanted) == (lamp.id, 1, 2)
        assert dict(Product.objects.filter(id__in=[lamp.id, mug.id]).values_list("id", "stock")) == {
            lamp.id: 1, mug.id: 5}

    def test_last_units_can_be_bought(self, client, lamp):
        lamp.stock = 2
        lamp.save()
        add_to_cart(client, lamp, 2)

        place_order(client)

        lamp.refresh_from_db()
        assert lamp.stock == 0
        assert Order.objects.count() == 1


@pytest.mark.django_db
class TestOrderCreateInvalidForm:
    INVALID = {**CUSTOMER, "first_name": "", "email": "not-an-email"}

    def test_form_is_shown_again_with_its_errors(self, filled_cart):
        response = place_order(filled_cart, self.INVALID)

        assert response.status_code == 200
        assertTemplateUsed(response, "orders/order/create.html")
        assert set(response.context["form"].errors) == {"first_name", "email"}
        assertContains(response, "This field is required.")
        assertContains(response, "Enter a valid email address.")

    def test_no_order_is_placed_and_cart_and_stock_are_kept(self, filled_cart, lamp, mug):
        place_order(filled_cart, self.INVALID)

        assert not Order.objects.exists()
        assert cart_items(filled_cart) == {str(lamp.id): 2, str(mug.id): 3}
        lamp.refresh_from_db()
        mug.refresh_from_db()
        assert (lamp.stock, mug.stock) == (5, 10)


@pytest.mark.django_db
class TestOrderCreateShortStock:
    @pytest.fixture
    def response(self, filled_cart, lamp):
        shown = checkout_form(filled_cart)
        # Someone else bought most of the lamps while this shopper filled in the form.
        Product.objects.filter(id=lamp.id).update(stock=1)
        return filled_cart.post(CREATE_URL, {**shown, **CUSTOMER})

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
        shown = checkout_form(filled_cart)
        lamp.available = False
        lamp.save()

        response = filled_cart.post(CREATE_URL, {**shown, **CUSTOMER})

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
        assert page_messages(response) == [
            "Desk lamp is no longer available and was removed from your cart."
        ]


@pytest.mark.django_db
class TestOrderCreateDoubleSubmit:
    def test_second_post_of_the_same_form_places_no_second_order_and_shows_the_first(
        self, filled_cart, lamp
    ):
        fields = {**checkout_form(filled_cart), **CUSTOMER}
        first = filled_cart.post(CREATE_URL, fields)
        second = filled_cart.post(CREATE_URL, fields)

        order = Order.objects.get()
        assertRedirects(first, payment_url(order.id), fetch_redirect_response=False)
        assertRedirects(second, payment_url(order.id), fetch_redirect_response=False)
        shown = filled_cart.get(thank_you_url(order.id))
        assertContains(shown, f'<strong class="order-number">{order.id}</strong>', html=True)
        lamp.refresh_from_db()
        assert lamp.stock == 3

    def test_a_later_post_after_the_thank_you_page_finds_the_cart_empty(self, filled_cart):
        fields = {**checkout_form(filled_cart), **CUSTOMER}
        filled_cart.post(CREATE_URL, fields)
        filled_cart.get(thank_you_url(Order.objects.get().id))

        again = filled_cart.post(CREATE_URL, fields, follow=True)

        assert again.redirect_chain == [(CART_URL, 302)]
        assert page_messages(again) == ["Your cart is empty."]
        assert Order.objects.count() == 1


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

        posts = [partial(s.post, CREATE_URL, {**checkout_form(s), **CUSTOMER}) for s in (alice, bob)]

        responses = _at_once(*posts)

        assert sorted(r.status_code for r in responses) == [200, 302], responses
        assert Order.objects.count() == 1
        lamp.refresh_from_db()
        assert lamp.stock == 0
        (refused,) = [r for r in responses if r.status_code == 200]
        assertContains(refused, "Not enough stock for Desk lamp (only 0 left, you asked for 1).")

    def test_same_cart_submitted_twice_at_once_makes_one_order(self, client):
        """A double click served by two workers: two requests of one session post the same form
        at the same moment; both load the session before either has finished."""
        lamp = ProductFactory(stock=5)
        add_to_cart(client, lamp, 2)
        fields = {**checkout_form(client), **CUSTOMER}
        second_worker = Client()
        second_worker.cookies[settings.SESSION_COOKIE_NAME] = client.session.session_key

        responses = _at_once(
            partial(client.post, CREATE_URL, fields), partial(second_worker.post, CREATE_URL, fields)
        )

        assert [getattr(r, "status_code", r) for r in responses] == [302, 302], responses
        order = Order.objects.get()
        assert {r["Location"] for r in responses} == {payment_url(order.id)}
        assert order.items.get().quantity == 2
        lamp.refresh_from_db()
        assert lamp.stock == 3
        assert client.get(thank_you_url(order.id)).status_code == 200

    def test_an_older_and_a_newer_state_of_one_cart_checked_out_at_once_make_one_order(self):
        """Two tabs: one checks out the cart as it was (a lamp), the other the cart grown from it
        (the lamp and a mug). Whichever commits first, the other must not sell the lamp again."""
        customer = services.Customer(**CUSTOMER)
        outcomes = []
        for _ in range(10):  # either may win the locks; both orders of commits must hold
            lamp, mug = ProductFactory(name="Desk lamp", stock=5), ProductFactory(name="Mug", stock=5)
            older, newer = uuid.uuid4(), uuid.uuid4()
            shown_lamp = ShownCheckout((ShownLine(lamp.id, lamp.name, 1, lamp.price),))
            shown_both = ShownCheckout(shown_lamp.lines + (ShownLine(mug.id, mug.name, 1, mug.price),))
            results = _at_once(
                partial(services.order_create, quantities={lamp.id: 1}, cart_token=older,
                        customer=customer, shown=shown_lamp),
                partial(services.order_create, quantities={lamp.id: 1, mug.id: 1}, cart_token=newer,
                        earlier_cart_tokens=[older], customer=customer, shown=shown_both),
            )
            placed = [r for r in results if isinstance(r, Order)]
            refused = [r for r in results if isinstance(r, CartAlreadyOrderedError)]
            lamp.refresh_from_db()
            outcomes.append((len(placed), len(refused), 5 - lamp.stock))
        assert outcomes == [(1, 1, 1)] * 10, f"(orders, refused, lamps taken) per round: {outcomes}"


@pytest.mark.django_db
class TestOrderCreateEmptyCart:
    def test_get_sends_shopper_to_the_cart_with_a_message(self, client):
        response = client.get(CREATE_URL, follow=True)

        assert response.redirect_chain == [(CART_URL, 302)]
        assert page_messages(response) == ["Your cart is empty."]

    def test_post_sends_shopper_to_the_cart_with_a_message_and_places_no_order(self, client):
        response = client.post(CREATE_URL, CUSTOMER, follow=True)

        assert response.redirect_chain == [(CART_URL, 302)]
        assert page_messages(response) == ["Your cart is empty."]
        assert not Order.objects.exists()

    def test_service_refuses_an_empty_cart(self, db):
        with pytest.raises(EmptyCartError):
            services.order_create(
                quantities={}, cart_token=None, customer=services.Customer(**CUSTOMER),
                shown=ShownCheckout(lines=()),
            )
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
        place_order(filled_cart)
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


# What the page showed --------------------------------------------------------------------------


def non_field_errors(response) -> list[str]:
    return list(response.context["form"].non_field_errors())


@pytest.mark.django_db
class TestOrderCreateStalePage:
    """Between showing /orders/create/ and submitting it, the order must not change under the
    shopper: a mismatch places nothing and says what changed."""

    def test_line_added_in_another_tab_places_no_order_and_names_it(self, filled_cart):
        shown = checkout_form(filled_cart)
        chair = ProductFactory(name="Chair", price=Decimal("40.00"), stock=3)
        add_to_cart(filled_cart, chair, 1)  # the other tab

        response = filled_cart.post(CREATE_URL, {**shown, **CUSTOMER})

        assert response.status_code == 200
        assert not Order.objects.exists()
        assert non_field_errors(response) == [
            "Your order changed after this page was shown, so it was not placed: new line 1 × Chair. "
            "Please check it below and place it again."
        ]
        chair.refresh_from_db()
        assert chair.stock == 3

    def test_price_raised_by_staff_places_no_order_and_says_old_and_new_price(self, filled_cart, lamp):
        shown = checkout_form(filled_cart)
        Product.objects.filter(id=lamp.id).update(price=Decimal("24.00"))

        response = filled_cart.post(CREATE_URL, {**shown, **CUSTOMER})

        assert response.status_code == 200
        assert not Order.objects.exists()
        assert non_field_errors(response) == [
            "Your order changed after this page was shown, so it was not placed: "
            "price of Desk lamp now $24.00 instead of $19.90. Please check it below and place it again."
        ]
        assertContains(response, "2 × Desk lamp <span>$48.00</span>", html=False)

    def test_quantity_changed_and_line_removed_are_named(self, filled_cart, lamp, mug):
        shown = checkout_form(filled_cart)
        add_to_cart(filled_cart, lamp, 1)
        filled_cart.post(reverse("cart:cart_remove", args=[mug.id]))

        response = filled_cart.post(CREATE_URL, {**shown, **CUSTOMER})

        assert not Order.objects.exists()
        assert non_field_errors(response) == [
            "Your order changed after this page was shown, so it was not placed: "
            "Desk lamp now 3 instead of 2; Mug no longer in your cart. "
            "Please check it below and place it again."
        ]

    def test_the_page_shown_again_can_be_placed_at_what_it_shows(self, filled_cart, lamp):
        shown = checkout_form(filled_cart)
        Product.objects.filter(id=lamp.id).update(price=Decimal("24.00"))
        again = filled_cart.post(CREATE_URL, {**shown, **CUSTOMER})

        response = filled_cart.post(CREATE_URL, {**hidden_fields(again), **CUSTOMER})

        order = Order.objects.get()
        assertRedirects(response, payment_url(order.id), fetch_redirect_response=False)
        assert order.get_total_cost() == Decimal("70.50")

    @pytest.mark.parametrize("value", [None, "", "garbage", "W1sxLDIsIjE5LjkwIl1d:1tAmpered:sig"])
    def test_missing_or_tampered_page_record_is_a_clear_message_not_a_500(self, filled_cart, value):
        shown = checkout_form(filled_cart)
        shown.pop("shown", None)
        if value is not None:
            shown["shown"] = value

        response = filled_cart.post(CREATE_URL, {**shown, **CUSTOMER})

        assert response.status_code == 200
        assert not Order.objects.exists()
        assert non_field_errors(response) == [
            "This page did not say what you were ordering (it may be out of date), so the order was "
            "not placed. Please check it below and place it again."
        ]


# A cart change racing a checkout in the same session ------------------------------------------



def _run_on_session_as_loaded(session_key: str, loaded: str, request):
    """Run `request` on the session as it was `loaded` by both racing requests; return its response
    and what it wrote to the session store (None when it wrote nothing new)."""
    Session.objects.filter(session_key=session_key).update(session_data=loaded)
    response = request()
    written = Session.objects.get(session_key=session_key).session_data
    return response, (None if written == loaded else written)


@pytest.mark.django_db
class TestOrderCreateRacingCartChange:
    """Two tabs of one session: a checkout and a cart change both load the session before either
    saves it. The database session backend writes a session whole, so whichever request saves last
    decides what the session holds; both save orders are replayed exactly."""

    @pytest.mark.parametrize("saves_last", ["checkout", "cart change"])
    @pytest.mark.parametrize(
        ("cart_change", "cart_after", "ordered"),
        [
            ("add a mug", {"Mug": 1}, [("Desk lamp", 2), ("Mug", 1)]),
            ("remove the lamp", {}, [("Desk lamp", 2)]),
        ],
    )
    def test_no_line_lost_no_second_order_and_the_thank_you_page_shows(
        self, client, lamp, mug, saves_last, cart_change, cart_after, ordered
    ):
        add_to_cart(client, lamp, 2)
        fields = {**checkout_form(client), **CUSTOMER}
        session_key = client.session.session_key
        other_tab = Client()
        other_tab.cookies[settings.SESSION_COOKIE_NAME] = session_key
        if cart_change == "add a mug":
            change = partial(other_tab.post, reverse("cart:cart_add", args=[mug.id]), {"quantity": 1})
        else:
            change = partial(other_tab.post, reverse("cart:cart_remove", args=[lamp.id]))
        loaded = Session.objects.get(session_key=session_key).session_data

        checkout, checkout_wrote = _run_on_session_as_loaded(
            session_key, loaded, partial(client.post, CREATE_URL, fields)
        )
        _, cart_change_wrote = _run_on_session_as_loaded(session_key, loaded, change)
        saves = [cart_change_wrote, checkout_wrote] if saves_last == "checkout" else [
            checkout_wrote, cart_change_wrote]
        written = [data for data in saves if data is not None]
        Session.objects.filter(session_key=session_key).update(session_data=(written or [loaded])[-1])

        assert checkout.status_code == 302
        thank_you = client.get(thank_you_url(Order.objects.get().id))
        in_cart = {line.product.name: line.quantity for line in client.get(CART_URL).context["cart"]}
        if in_cart:
            place_order(client)
        goods = sorted((item.product.name, item.quantity) for item in OrderItem.objects.all())
        assert {"thank-you page": thank_you.status_code, "cart after": in_cart, "ordered": goods} == {
            "thank-you page": 200, "cart after": cart_after, "ordered": ordered,
        }


@pytest.mark.django_db
class TestThankYouPageRacingCartChange:
    """The thank-you page settles the cart (the ordered units leave it): a cart change in another
    tab that loaded the session before the thank-you page saved must keep its line, whichever of
    the two saves last."""

    @pytest.mark.parametrize("saves_last", ["thank-you page", "cart change"])
    def test_the_line_added_in_another_tab_stays(self, client, lamp, mug, saves_last, monkeypatch):
        add_to_cart(client, lamp, 2)
        place_order(client)  # checkout writes nothing to the session
        session_key = client.session.session_key
        loaded = Session.objects.get(session_key=session_key).session_data
        other_tab = Client()
        other_tab.cookies[settings.SESSION_COOKIE_NAME] = session_key
        add_mug = partial(other_tab.post, reverse("cart:cart_add", args=[mug.id]), {"quantity": 1})

        if saves_last == "cart change":
            show_thank_you = partial(client.get, thank_you_url(Order.objects.get().id))
            thank_you, _ = _run_on_session_as_loaded(session_key, loaded, show_thank_you)
            _, cart_change_wrote = _run_on_session_as_loaded(session_key, loaded, add_mug)
            Session.objects.filter(session_key=session_key).update(session_data=cart_change_wrote)
        else:
            _, cart_change_wrote = _run_on_session_as_loaded(session_key, loaded, add_mug)
            Session.objects.filter(session_key=session_key).update(session_data=loaded)
            find_orders = selectors.orders_from_cart_tokens

            def cart_change_saves_meanwhile(**kwargs):
                # The thank-you page has loaded the session; the other tab's save lands now.
                Session.objects.filter(session_key=session_key).update(session_data=cart_change_wrote)
                return find_orders(**kwargs)

            monkeypatch.setattr(selectors, "orders_from_cart_tokens", cart_change_saves_meanwhile)
            thank_you = client.get(thank_you_url(Order.objects.get().id))
            monkeypatch.undo()

        # What the shopper checks out next (the checkout page settles the cart, too).
        page = client.get(CREATE_URL)
        lines = page.context["cart"] if page.status_code == 200 else []  # 302: the cart is empty
        in_cart = {line.product.name: line.quantity for line in lines}
        assert {"thank-you page": thank_you.status_code, "cart after": in_cart} == {
            "thank-you page": 200, "cart after": {"Mug": 1}}


@pytest.mark.django_db
class TestOrderCreateService:
    """The service over plain values: no request, no session; its errors carry their data."""

    def shown(self, *products_and_quantities) -> ShownCheckout:
        return ShownCheckout(tuple(
            ShownLine(p.id, p.name, quantity, p.price) for p, quantity in products_and_quantities
        ))

    def test_places_the_order_from_plain_values(self, lamp):
        token = uuid.uuid4()
        order = services.order_create(
            quantities={lamp.id: 2}, cart_token=token, customer=services.Customer(**CUSTOMER),
            shown=self.shown((lamp, 2)),
        )
        assert order.cart_token == token
        assert [(i.product_id, i.quantity, i.price) for i in order.items.all()] == [(lamp.id, 2, lamp.price)]

    def test_short_stock_says_what_is_available_and_what_was_wanted(self, lamp):
        with pytest.raises(OutOfStockError) as raised:
            services.order_create(
                quantities={lamp.id: 9}, cart_token=uuid.uuid4(), customer=services.Customer(**CUSTOMER),
                shown=self.shown((lamp, 9)),
            )
        assert raised.value.shortages == [Shortage(lamp.id, "Desk lamp", available=5, wanted=9)]

    def test_a_changed_price_is_reported_with_both_prices(self, lamp, mug):
        shown = self.shown((lamp, 1), (mug, 1))
        Product.objects.filter(id=mug.id).update(price=Decimal("8.00"))
        with pytest.raises(CheckoutChangedError) as raised:
            services.order_create(
                quantities={lamp.id: 1, mug.id: 1}, cart_token=uuid.uuid4(),
                customer=services.Customer(**CUSTOMER), shown=shown,
            )
        raised_price = PriceChanged(mug.id, "Mug", shown=Decimal("7.50"), now=Decimal("8.00"))
        assert raised.value.changes == [raised_price]
        assert not Order.objects.exists()

    def test_an_earlier_state_of_the_cart_ordered_meanwhile_refuses_this_one(self, lamp):
        earlier = uuid.uuid4()
        first = services.order_create(
            quantities={lamp.id: 1}, cart_token=earlier, customer=services.Customer(**CUSTOMER),
            shown=self.shown((lamp, 1)),
        )
        with pytest.raises(CartAlreadyOrderedError) as raised:
            services.order_create(
                quantities={lamp.id: 2}, cart_token=uuid.uuid4(), earlier_cart_tokens=[earlier],
                customer=services.Customer(**CUSTOMER), shown=self.shown((lamp, 2)),
            )
        assert (raised.value.order_id, raised.value.cart_token) == (first.id, earlier)
        assert Order.objects.count() == 1

    def test_an_older_state_still_checking_out_after_a_newer_one_was_ordered_is_refused(
        self, lamp, mug
    ):
        # One tab's checkout of the cart as it was (the lamp) is slow; meanwhile another tab adds
        # a mug and orders both. The slow checkout then runs: the lamp is in that order already.
        older, newer = uuid.uuid4(), uuid.uuid4()
        both = services.order_create(
            quantities={lamp.id: 1, mug.id: 1}, cart_token=newer, earlier_cart_tokens=[older],
            customer=services.Customer(**CUSTOMER), shown=self.shown((lamp, 1), (mug, 1)),
        )
        with pytest.raises(CartAlreadyOrderedError) as raised:
            services.order_create(
                quantities={lamp.id: 1}, cart_token=older, customer=services.Customer(**CUSTOMER),
                shown=self.shown((lamp, 1)),
            )
        assert (raised.value.order_id, raised.value.cart_token) == (both.id, older)
        assert Order.objects.count() == 1

    def test_a_successful_checkout_writes_nothing_to_the_session(self, filled_cart):
        fields = {**checkout_form(filled_cart), **CUSTOMER}
        before = Session.objects.get(session_key=filled_cart.session.session_key).session_data

        assert filled_cart.post(CREATE_URL, fields).status_code == 302

        assert Session.objects.get(session_key=filled_cart.session.session_key).session_data == before


@pytest.mark.django_db
class TestCheckoutPageAfterAnOrder:
    def test_a_cart_whose_payment_page_never_showed_leads_to_it(self, filled_cart):
        response = place_order(filled_cart)  # the redirect is never followed
        order = Order.objects.get()

        again = filled_cart.get(CREATE_URL)

        assertRedirects(again, payment_url(order.id), fetch_redirect_response=False)
        assert settings.CART_SESSION_ID not in filled_cart.session
        assert response["Location"] == payment_url(order.id)

    def test_a_cart_emptied_by_a_withdrawn_product_still_leads_to_its_thank_you_page(
        self, client, lamp
    ):
        add_to_cart(client, lamp, 1)
        place_order(client)  # the redirect is not followed yet
        order = Order.objects.get()
        Product.objects.filter(id=lamp.id).update(available=False)
        client.get(CART_URL)  # another tab: the withdrawn lamp leaves the cart, which is empty now

        assert client.get(thank_you_url(order.id)).status_code == 200

    def test_ordered_units_leave_the_cart_and_a_line_added_meanwhile_stays_with_a_notice(
        self, filled_cart, lamp, mug
    ):
        place_order(filled_cart)
        order = Order.objects.get()
        add_to_cart(filled_cart, lamp, 1)  # another tab, before the thank-you page

        page = filled_cart.get(CREATE_URL)

        assert [(line.product.name, line.quantity) for line in page.context["cart"]] == [("Desk lamp", 1)]
        assert page_messages(page) == [
            f"Your order {order.id} already holds part of what your cart held; those units left your cart."
        ]
