"""The session cart, driven through its pages as a browser would."""

from decimal import Decimal

import pytest
from django.conf import settings
from django.urls import reverse

from apps.cart.cart import Cart, UnavailableLine
from apps.orders.tests.checkout import place_order
from apps.shop.models import Product
from apps.shop.tests.factories import ProductFactory
from tests.support.messages import page_messages

MAX = settings.CART_MAX_QUANTITY_PER_PRODUCT


def add(client, product, quantity, override=False):
    return client.post(
        reverse("cart:cart_add", args=[product.id]), {"quantity": quantity, "override": override}
    )


def cart_items(client) -> dict:
    return client.session.get(settings.CART_SESSION_ID, {}).get("items", {})


@pytest.mark.django_db
class TestCartAdd:
    def test_adds_the_quantity_and_shows_the_cart(self, client):
        product = ProductFactory()
        response = add(client, product, 2)
        assert response.status_code == 302
        assert response["Location"] == reverse("cart:cart_detail")
        assert cart_items(client) == {str(product.id): 2}

    def test_adding_again_adds_to_what_is_held(self, client):
        product = ProductFactory()
        add(client, product, 2)
        add(client, product, 3)
        assert cart_items(client) == {str(product.id): 5}

    def test_override_replaces_the_quantity(self, client):
        product = ProductFactory()
        add(client, product, 5)
        add(client, product, 2, override=True)
        assert cart_items(client) == {str(product.id): 2}

    def test_total_is_capped_at_the_per_product_limit_with_a_notice(self, client):
        product = ProductFactory(name="Desk Lamp")
        add(client, product, MAX - 1)
        response = add(client, product, 5)
        assert cart_items(client) == {str(product.id): MAX}
        follow = client.get(response["Location"])
        assert any(f"holds {MAX} of Desk Lamp" in m for m in page_messages(follow))

    @pytest.mark.parametrize("quantity", [0, -1, MAX + 1, "two", "", "1.5", "9" * 40])
    def test_out_of_bounds_quantity_is_refused_with_a_message(self, client, quantity):
        product = ProductFactory()
        response = add(client, product, quantity)
        assert response.status_code == 302
        assert response["Location"] == product.get_absolute_url()
        assert cart_items(client) == {}
        follow = client.get(response["Location"])
        assert any("Choose a quantity from 1 to" in m for m in page_messages(follow))

    def test_unknown_product_is_404(self, client):
        assert client.post(reverse("cart:cart_add", args=[999999]), {"quantity": 1}).status_code == 404

    def test_huge_product_id_is_404_not_a_database_error(self, client):
        response = client.post(f"/en/cart/add/{'9' * 30}/", {"quantity": 1})
        assert response.status_code == 404

    def test_unavailable_product_cannot_be_added(self, client):
        product = ProductFactory(available=False)
        assert add(client, product, 1).status_code == 404
        assert cart_items(client) == {}

    def test_get_is_not_allowed(self, client):
        product = ProductFactory()
        assert client.get(reverse("cart:cart_add", args=[product.id])).status_code == 405


@pytest.mark.django_db
class TestCartRemove:
    def test_removes_the_product(self, client):
        kept, removed = ProductFactory(), ProductFactory()
        add(client, kept, 1)
        add(client, removed, 1)
        response = client.post(reverse("cart:cart_remove", args=[removed.id]))
        assert response.status_code == 302
        assert cart_items(client) == {str(kept.id): 1}

    def test_removing_what_is_not_in_the_cart_changes_nothing(self, client):
        product = ProductFactory()
        add(client, product, 1)
        client.post(reverse("cart:cart_remove", args=[product.id + 1000]))
        assert cart_items(client) == {str(product.id): 1}

    def test_removing_the_last_product_empties_the_cart(self, client):
        product = ProductFactory()
        add(client, product, 1)
        token = client.session[settings.CART_SESSION_ID]["token"]
        client.post(reverse("cart:cart_remove", args=[product.id]))
        assert cart_items(client) == {}
        assert "Your cart is empty" in client.get(reverse("cart:cart_detail")).content.decode()
        # What it held stays named: a checkout of it may be running in another tab.
        assert client.session[settings.CART_SESSION_ID]["grew_from"] == [token]


@pytest.mark.django_db
class TestCartPage:
    def test_lists_lines_with_database_prices_and_total(self, client):
        lamp = ProductFactory(name="Lamp", price=Decimal("12.50"))
        chair = ProductFactory(name="Chair", price=Decimal("40.00"))
        add(client, lamp, 2)
        add(client, chair, 1)
        response = client.get(reverse("cart:cart_detail"))
        assert response.status_code == 200
        assert response.context["cart"].get_total_price() == Decimal("65.00")
        assert "$65.00" in response.content.decode()

    def test_prices_follow_the_database_not_the_session(self, client):
        product = ProductFactory(price=Decimal("10.00"))
        add(client, product, 3)
        product.price = Decimal("7.00")
        product.save()
        response = client.get(reverse("cart:cart_detail"))
        assert response.context["cart"].get_total_price() == Decimal("21.00")
        assert "price" not in str(client.session[settings.CART_SESSION_ID])

    def test_header_summary_counts_the_units(self, client):
        add(client, ProductFactory(), 2)
        add(client, ProductFactory(), 3)
        response = client.get(reverse("shop:product_list"))
        assert "Cart: 5 items" in response.content.decode()

    def test_empty_cart_says_so(self, client):
        response = client.get(reverse("cart:cart_detail"))
        assert response.status_code == 200
        assert "Your cart is empty" in response.content.decode()

    def test_quantity_above_stock_is_flagged(self, client):
        product = ProductFactory(stock=2)
        add(client, product, 5)
        response = client.get(reverse("cart:cart_detail"))
        assert "Only 2 left." in response.content.decode()


@pytest.mark.django_db
class TestVanishedProduct:
    def test_deleted_product_leaves_the_cart_with_a_notice(self, client):
        kept, deleted = ProductFactory(), ProductFactory()
        add(client, kept, 1)
        add(client, deleted, 1)
        deleted.delete()
        response = client.get(reverse("cart:cart_detail"))
        assert response.status_code == 200
        assert [line.product for line in response.context["cart"]] == [kept]
        assert any("no longer sold" in m for m in page_messages(response))
        assert cart_items(client) == {str(kept.id): 1}

    def test_unavailable_product_leaves_the_cart_naming_it(self, client):
        product = ProductFactory(name="Walnut Desk Lamp")
        add(client, product, 1)
        product.available = False
        product.save()
        response = client.get(reverse("cart:cart_detail"))
        assert list(response.context["cart"]) == []
        assert any("Walnut Desk Lamp is no longer available" in m for m in page_messages(response))
        # No items left; the tokens stay, so that an order of the lamp still finds its page.
        assert client.session[settings.CART_SESSION_ID].get("items") == {}


def put_in_session(client, value):
    session = client.session
    session[settings.CART_SESSION_ID] = value
    session.save()


@pytest.mark.django_db
class TestCorruptedSession:
    @pytest.mark.parametrize(
        "value",
        [
            "garbage",
            ["a", 1],
            42,
            None,
            {"items": "not a dict"},
            {"items": {"abc": 1, "-3": 1, "0": 2, "1.5": 1, "٣": 1}},
            {"items": {"999999999": 1}},
            {"items": {"9" * 40: 1}},
            {"token": ["x"], "items": {}},
        ],
    )
    def test_any_stored_value_gives_a_working_empty_cart(self, client, value):
        put_in_session(client, value)
        pages = ("cart:cart_detail", "shop:product_list", "orders:order_create")
        for url in map(reverse, pages):
            response = client.get(url, follow=True)
            assert response.status_code == 200, url
        assert cart_items(client) == {}

    def test_only_the_valid_lines_survive(self, client):
        good = ProductFactory(price=Decimal("5.00"))
        also_good = ProductFactory(price=Decimal("1.00"))
        unused = also_good.id + 1000
        put_in_session(
            client,
            {
                "token": "not-a-uuid",
                "items": {
                    str(good.id): 2,
                    str(also_good.id): 10_000,
                    "x": 1,
                    # Ids no product has (a literal "8" would be good's own key when it gets id 8).
                    f"{unused}": "3",
                    f"{unused + 1}": -1,
                    f"{unused + 2}": True,
                    f"{unused + 3}": 1.5,
                    f"{unused + 4}": None,
                },
            },
        )
        response = client.get(reverse("cart:cart_detail"))
        assert response.status_code == 200
        quantities = {line.product.id: line.quantity for line in response.context["cart"]}
        assert quantities == {good.id: 2, also_good.id: MAX}
        stored = client.session[settings.CART_SESSION_ID]
        assert stored["items"] == {str(good.id): 2, str(also_good.id): MAX}
        assert len(stored["token"]) == 32

    def test_a_damaged_cart_can_still_be_bought(self, client):
        product = ProductFactory(stock=5)
        put_in_session(client, {"items": {str(product.id): 2, "junk": "junk"}})
        response = place_order(client)
        assert response.status_code == 302
        product.refresh_from_db()
        assert product.stock == 3


@pytest.mark.django_db
class TestCartToken:
    def token(self, client):
        return client.session[settings.CART_SESSION_ID]["token"]

    def test_changing_the_cart_gives_it_a_new_token(self, client):
        product = ProductFactory()
        add(client, product, 1)
        first = self.token(client)
        add(client, product, 1)
        second = self.token(client)
        add(client, ProductFactory(), 1)
        assert len({first, second, self.token(client)}) == 3

    def test_viewing_the_cart_keeps_its_token(self, client):
        add(client, ProductFactory(), 1)
        before = self.token(client)
        client.get(reverse("cart:cart_detail"))
        client.get(reverse("orders:order_create"))
        assert self.token(client) == before


@pytest.mark.django_db
class TestReadingTheCart:
    def test_reading_reports_a_withdrawn_product_and_writes_nothing(self, client):
        kept, withdrawn = ProductFactory(), ProductFactory(name="Walnut Desk Lamp")
        add(client, kept, 1)
        add(client, withdrawn, 2)
        Product.objects.filter(id=withdrawn.id).update(available=False)
        session = client.session
        stored = dict(session[settings.CART_SESSION_ID])

        cart = Cart(session)

        assert [line.product.id for line in cart.lines()] == [kept.id]
        assert cart.unavailable_lines() == [UnavailableLine(withdrawn.id, "Walnut Desk Lamp", 2)]
        assert session[settings.CART_SESSION_ID] == stored
        assert not session.modified

    def test_a_change_remembers_the_token_the_contents_grew_from(self, client):
        add(client, ProductFactory(), 1)
        first = client.session[settings.CART_SESSION_ID]["token"]
        add(client, ProductFactory(), 1)
        stored = client.session[settings.CART_SESSION_ID]
        assert stored["grew_from"] == [first] and stored["token"] != first
