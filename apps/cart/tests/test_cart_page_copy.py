"""The cart page's kept copy (shop_project.page_copies): made once for a content, shared only by
pages that would be the same, with each visitor's own CSRF token, path and notices.

Each test that relies on the copy first shows that a view rendered no template (the test
client's response.context is None then), so it fails with the copy off; the others show that it
is never too eager: a change to what the page shows, another language, another visitor's token
or notices.
"""

import re
from decimal import Decimal

import pytest
from django.conf import settings
from django.middleware.csrf import _unmask_cipher_token
from django.test import Client
from django.urls import reverse
from django.utils import translation

from apps.shop.tests.factories import ProductFactory

pytestmark = pytest.mark.django_db

TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


@pytest.fixture
def lamp():
    return ProductFactory(name="Walnut Desk Lamp", name_ko="호두나무 책상 램프",
                          price=Decimal("10.00"), stock=5)


def shopper(*products, language: str = "en") -> Client:
    """A new visitor (CSRF checks on, as a browser meets them) with one of each product in the cart."""
    client = Client(enforce_csrf_checks=True)
    with translation.override(language):
        client.get(products[0].get_absolute_url())  # the CSRF cookie, from its add-to-cart form
        for product in products:
            secret = client.cookies[settings.CSRF_COOKIE_NAME].value  # Django takes it unmasked too
            client.post(reverse("cart:cart_add", args=[product.id]),
                        {"quantity": 1, "csrfmiddlewaretoken": secret})
        client.get(reverse("cart:cart_detail"))  # the notices of the adds, shown once
    return client


def cart_page(client: Client, language: str = "en", query: str = ""):
    with translation.override(language):
        response = client.get(reverse("cart:cart_detail") + query)
    assert response.status_code == 200
    return response


class TestCartPageCopy:
    def test_a_second_view_renders_no_template(self, lamp):
        client = shopper(lamp)
        first = cart_page(client)
        again = cart_page(client)
        assert first.context is not None and again.context is None
        without_tokens = [TOKEN.sub("", r.content.decode()) for r in (first, again)]
        assert without_tokens[0] == without_tokens[1] and "$10.00" in without_tokens[1]

    def test_another_visitor_with_the_same_cart_gets_the_copy_with_their_own_csrf_token(self, lamp):
        alice, bob = shopper(lamp), shopper(lamp)
        cart_page(alice)
        page = cart_page(bob)
        assert page.context is None  # Alice's copy

        tokens = set(TOKEN.findall(page.content.decode()))
        bob_secret = bob.cookies[settings.CSRF_COOKIE_NAME].value
        assert tokens and {_unmask_cipher_token(token) for token in tokens} == {bob_secret}
        assert bob_secret != alice.cookies[settings.CSRF_COOKIE_NAME].value
        remove = reverse("cart:cart_remove", args=[lamp.id])
        # Bob's token is no good with Alice's cookie, and works with his own.
        token = tokens.pop()
        assert alice.post(remove, {"csrfmiddlewaretoken": token}).status_code == 403
        assert bob.post(remove, {"csrfmiddlewaretoken": token}).status_code == 302

    def test_a_price_change_makes_a_new_page(self, lamp):
        client = shopper(lamp)
        cart_page(client)
        assert cart_page(client).context is None
        lamp.price = Decimal("12.50")
        lamp.save()
        page = cart_page(client)
        assert "$12.50" in page.content.decode() and "$10.00" not in page.content.decode()

    def test_another_quantity_makes_a_new_page(self, lamp):
        client = shopper(lamp)
        cart_page(client)
        client.post(reverse("cart:cart_add", args=[lamp.id]),
                    {"quantity": 1, "csrfmiddlewaretoken": client.cookies[settings.CSRF_COOKIE_NAME].value})
        page = cart_page(client).content.decode()
        assert "$20.00" in page and "Cart: 2 items" in page

    def test_each_language_gets_its_own_page(self, lamp):
        client = shopper(lamp)
        cart_page(client, "en")
        assert cart_page(client, "en").context is None
        korean = cart_page(client, "ko").content.decode()
        assert '<html lang="ko">' in korean and "호두나무 책상 램프" in korean
        english = cart_page(client, "en").content.decode()
        assert '<html lang="en">' in english and "Walnut Desk Lamp" in english and "호두나무" not in english

    def test_the_language_switcher_keeps_this_visitors_path(self, lamp):
        client = shopper(lamp)
        cart_page(client)
        page = cart_page(client, query="?from=mail")
        assert page.context is None
        assert "next=%2Fen%2Fcart%2F%3Ffrom%3Dmail" in page.content.decode()

    def test_a_page_with_notices_is_made_for_its_visitor_only(self, lamp):
        bob = shopper(lamp)
        cart_page(bob)  # the copy of a cart holding one lamp
        alice = Client()
        alice.post(reverse("cart:cart_add", args=[lamp.id]), {"quantity": 1})
        theirs = cart_page(alice).content.decode()  # the same cart, and her notice
        assert "Added 1 of" in theirs
        mine = cart_page(bob).content.decode()
        assert "Added 1 of" not in mine and 'class="messages"' not in mine
