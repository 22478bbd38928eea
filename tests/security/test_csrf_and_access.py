"""CSRF on every state-changing view, staff-only admin and order pages, thank-you pages per session."""

from importlib import import_module

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from apps.orders.models import Order
from apps.orders.tests.checkout import hidden_fields, place_order
from apps.orders.tests.factories import CUSTOMER
from apps.shop.models import Product
from apps.shop.tests.factories import ProductFactory

pytestmark = pytest.mark.django_db

ADMIN_LOGIN = "/admin/login/"
ORDERS_CHANGELIST = "/admin/orders/order/"


@pytest.fixture
def product() -> Product:
    return ProductFactory(stock=10)


def make_user(*, staff: bool, superuser: bool = False, perms: tuple[str, ...] = ()):
    user = get_user_model().objects.create_user(
        username=f"user-{get_user_model().objects.count()}", password="not-a-real-password",
        is_staff=staff, is_superuser=superuser,
    )
    for codename in perms:
        user.user_permissions.add(Permission.objects.get(codename=codename))
    return user


def csrf_client(user=None) -> Client:
    client = Client(enforce_csrf_checks=True)
    if user is not None:
        client.force_login(user)
    return client


def with_cart(client: Client, product: Product, quantity: int = 1) -> None:
    """A session whose cart holds the product, written into the session store."""
    store = import_module(settings.SESSION_ENGINE).SessionStore()
    store[settings.CART_SESSION_ID] = {"token": None, "items": {str(product.id): quantity}}
    store.save()
    client.cookies[settings.SESSION_COOKIE_NAME] = store.session_key


def csrf_token(client: Client, page: str) -> str:
    """Load a page with a form, as a browser does, and read the token its cookie carries."""
    assert client.get(page).status_code == 200
    return client.cookies[settings.CSRF_COOKIE_NAME].value


def redirects_to_admin_login(response) -> bool:
    return response.status_code == 302 and response.url.startswith(f"{ADMIN_LOGIN}?next=")


def csv_action(order_ids, **extra) -> dict:
    return {"action": "export_to_csv", "_selected_action": [str(i) for i in order_ids], **extra}


def all_url_patterns(resolver=None, prefix=""):
    """(route, pattern) for every URL the project answers, included ones too."""
    for entry in (resolver or get_resolver()).url_patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            yield from all_url_patterns(entry, route)
        elif isinstance(entry, URLPattern):
            yield route, entry


class TestCsrf:
    def test_no_view_but_the_stripe_webhook_is_exempt_from_csrf(self):
        exempt = [route for route, pattern in all_url_patterns()
                  if getattr(pattern.callback, "csrf_exempt", False)]
        # Stripe's servers hold no CSRF token; the webhook checks the Stripe-Signature instead
        # (apps/payment/webhooks.py, tested in apps/payment/tests/test_webhook.py).
        assert exempt == ["payment/webhook/"]

    def test_cart_add_without_token_is_refused(self, product):
        client = csrf_client()

        response = client.post(f"/en/cart/add/{product.id}/", {"quantity": "1"})

        assert response.status_code == 403
        assert settings.CART_SESSION_ID not in client.session

    def test_cart_add_with_token_is_accepted(self, product):
        client = csrf_client()
        token = csrf_token(client, product.get_absolute_url())

        response = client.post(f"/en/cart/add/{product.id}/", {"quantity": "1", "csrfmiddlewaretoken": token})

        assert response.status_code == 302
        assert client.session[settings.CART_SESSION_ID]["items"] == {str(product.id): 1}

    def test_cart_remove_without_token_is_refused(self, product):
        client = csrf_client()
        with_cart(client, product, 3)

        response = client.post(f"/en/cart/remove/{product.id}/")

        assert response.status_code == 403
        assert client.session[settings.CART_SESSION_ID]["items"] == {str(product.id): 3}

    def test_checkout_without_token_is_refused(self, product):
        client = csrf_client()
        with_cart(client, product, 2)

        response = client.post("/en/orders/create/", CUSTOMER)

        assert response.status_code == 403
        assert not Order.objects.exists()
        assert Product.objects.get(id=product.id).stock == 10

    def test_checkout_with_token_places_the_order(self, product):
        client = csrf_client()
        with_cart(client, product, 2)
        page = client.get("/en/orders/create/")
        assert page.status_code == 200
        fields = hidden_fields(page)  # the CSRF token and what the page showed
        assert fields["csrfmiddlewaretoken"]

        response = client.post("/en/orders/create/", {**CUSTOMER, **fields})

        assert response.status_code == 302 and "/en/payment/process/" in response.url
        assert Order.objects.count() == 1

    def test_admin_login_without_token_is_refused(self):
        make_user(staff=True, superuser=True)

        response = csrf_client().post(ADMIN_LOGIN, {"username": "user-0", "password": "not-a-real-password"})

        assert response.status_code == 403

    @pytest.mark.parametrize("action", ["export_to_csv", "resend_confirmation"])
    def test_admin_order_actions_without_token_are_refused(self, order, action):
        client = csrf_client(make_user(staff=True, superuser=True))

        response = client.post(ORDERS_CHANGELIST, csv_action([order.id], action=action))

        assert response.status_code == 403
        assert not response.get("Content-Type", "").startswith("text/csv")

    def test_admin_csv_export_with_token_is_a_csv(self, order):
        client = csrf_client(make_user(staff=True, superuser=True))
        token = csrf_token(client, ORDERS_CHANGELIST)

        response = client.post(ORDERS_CHANGELIST, csv_action([order.id], csrfmiddlewaretoken=token))

        assert response.status_code == 200
        assert response["Content-Type"].startswith("text/csv")
        assert len(response.content.decode().splitlines()) == 2  # the header and the order


class TestStaffOnly:
    @pytest.fixture(params=["anonymous", "customer"])
    def outsider(self, request) -> Client:
        """An anonymous visitor, or a shopper who is logged in but not staff."""
        client = Client()
        if request.param == "customer":
            client.force_login(make_user(staff=False))
        return client

    @pytest.mark.parametrize("page", [
        "/admin/", ORDERS_CHANGELIST, "/admin/orders/order/{id}/change/", "/admin/shop/product/",
        "/admin/auth/user/", "/admin/orders/order/{id}/detail/",
    ])
    def test_admin_and_order_pages_send_outsiders_to_the_admin_login(self, outsider, order, page):
        response = outsider.get(page.format(id=order.id))

        assert redirects_to_admin_login(response), (response.status_code, response.get("Location"))

    def test_the_csv_export_sends_outsiders_to_the_admin_login(self, outsider, order):
        response = outsider.post(ORDERS_CHANGELIST, csv_action([order.id]))

        assert redirects_to_admin_login(response)
        assert not response.get("Content-Type", "").startswith("text/csv")

    def test_staff_without_order_permissions_cannot_see_or_export_orders(self, order):
        client = Client()
        client.force_login(make_user(staff=True))

        assert client.get(ORDERS_CHANGELIST).status_code == 403
        response = client.post(ORDERS_CHANGELIST, csv_action([order.id]))
        assert response.status_code == 403
        assert not response.get("Content-Type", "").startswith("text/csv")

    def test_staff_without_order_permissions_cannot_see_the_order_page(self, order):
        client = Client()
        client.force_login(make_user(staff=True))

        response = client.get(f"/admin/orders/order/{order.id}/detail/")

        assert response.status_code in (302, 403)

    def test_staff_with_the_view_permission_see_the_order_page(self, order):
        client = Client()
        client.force_login(make_user(staff=True, perms=("view_order",)))

        assert client.get(f"/admin/orders/order/{order.id}/detail/").status_code == 200
        assert client.get(ORDERS_CHANGELIST).status_code == 200

    def test_the_csv_export_is_only_an_admin_action(self):
        """No URL of its own: staff reach it through the orders changelist, behind the admin."""
        from apps.orders import csv_export
        from apps.orders.admin import OrderAdmin

        for route, pattern in all_url_patterns():
            assert "csv" not in route.lower() and "export" not in route.lower(), route
            assert pattern.callback.__module__ != csv_export.__name__, route
        assert "export_to_csv" in [getattr(a, "__name__", a) for a in OrderAdmin.actions]


class TestThankYouPage:
    def test_only_the_session_that_ordered_sees_it(self, product):
        shopper = Client()
        with_cart(shopper, product, 1)
        response = place_order(shopper)
        assert response.status_code == 302
        thank_you = f"/en/orders/created/{response.url.rsplit('?order=', 1)[1]}/"

        assert shopper.get(thank_you).status_code == 200
        assert Client().get(thank_you).status_code == 404

        someone_else = Client()
        with_cart(someone_else, product, 1)
        assert someone_else.get("/en/cart/").status_code == 200
        assert someone_else.get(thank_you).status_code == 404

        logged_in = Client()
        logged_in.force_login(make_user(staff=False))
        assert logged_in.get(thank_you).status_code == 404

    def test_an_order_made_elsewhere_is_a_404(self, order):
        assert Client().get(f"/en/orders/created/{order.id}/").status_code == 404
