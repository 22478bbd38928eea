"""The product list (all and by category) and the product detail page."""

import ast
from pathlib import Path

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.urls import reverse

from apps.shop.models import Category
from apps.shop.tests.factories import CategoryFactory, ProductFactory

PER_PAGE = settings.PRODUCTS_PER_PAGE


@pytest.mark.django_db
class TestProductList:
    def test_shows_available_products_only(self, client):
        shown = ProductFactory(name="Shown")
        ProductFactory(name="Hidden", available=False)
        response = client.get(reverse("shop:product_list"))
        assert response.status_code == 200
        assert list(response.context["products"]) == [shown]

    def test_is_paginated(self, client):
        ProductFactory.create_batch(PER_PAGE + 3)
        first = client.get(reverse("shop:product_list"))
        second = client.get(reverse("shop:product_list"), {"page": 2})
        assert len(first.context["products"]) == PER_PAGE
        assert len(second.context["products"]) == 3
        assert "Page 2 of 2" in second.content.decode()

    @pytest.mark.parametrize("page", ["abc", "-1", "0", "999", "9" * 50, ""])
    def test_any_page_number_gives_a_page(self, client, page):
        ProductFactory.create_batch(3)
        response = client.get(reverse("shop:product_list"), {"page": page})
        assert response.status_code == 200
        assert len(response.context["products"]) == 3

    def test_category_shows_its_own_products(self, client):
        lamps, chairs = CategoryFactory(name="Lamps"), CategoryFactory(name="Chairs")
        lamp = ProductFactory(category=lamps)
        ProductFactory(category=chairs)
        response = client.get(lamps.get_absolute_url())
        assert response.status_code == 200
        assert response.context["category"] == lamps
        assert list(response.context["products"]) == [lamp]

    def test_unknown_category_is_404(self, client):
        CategoryFactory(slug="lamps")
        assert client.get("/en/no-such-category/").status_code == 404

    def test_product_without_image_shows_the_placeholder(self, client):
        ProductFactory()
        assert "img/no_image.svg" in client.get(reverse("shop:product_list")).content.decode()


@pytest.mark.django_db
class TestProductDetail:
    def test_shows_the_product_and_the_add_to_cart_form(self, client):
        product = ProductFactory(name="Walnut Desk Lamp")
        response = client.get(product.get_absolute_url())
        assert response.status_code == 200
        body = response.content.decode()
        assert "Walnut Desk Lamp" in body
        assert reverse("cart:cart_add", args=[product.id]) in body

    def test_the_add_to_cart_form_offers_one_to_twenty_units_with_a_csrf_token(self, client):
        product = ProductFactory()
        body = client.get(product.get_absolute_url()).content.decode()
        form = body[body.index('<form class="add-to-cart"'):]
        form = form[: form.index("</form>")]
        assert form.count("<option") == settings.CART_MAX_QUANTITY_PER_PRODUCT
        assert 'name="csrfmiddlewaretoken"' in form
        assert 'name="override"' in form

    def test_unknown_id_is_404(self, client):
        assert client.get(reverse("shop:product_detail", args=[12345, "nothing"])).status_code == 404

    def test_unavailable_product_is_404(self, client):
        product = ProductFactory(available=False)
        assert client.get(product.get_absolute_url()).status_code == 404

    def test_a_mismatched_slug_moves_to_the_products_url(self, client):
        product = ProductFactory(slug="right-slug")
        response = client.get(reverse("shop:product_detail", args=[product.id, "wrong-slug"]))
        assert response.status_code == 302
        assert response["Location"] == product.get_absolute_url()

    def test_a_mismatched_slug_of_an_unavailable_product_is_404(self, client):
        product = ProductFactory(slug="right-slug", available=False)
        assert client.get(reverse("shop:product_detail", args=[product.id, "wrong-slug"])).status_code == 404

    def test_out_of_stock_product_offers_no_add_to_cart(self, client):
        product = ProductFactory(stock=0)
        body = client.get(product.get_absolute_url()).content.decode()
        assert "Out of stock." in body
        assert reverse("cart:cart_add", args=[product.id]) not in body


@pytest.mark.django_db
class TestCategorySlug:
    @pytest.mark.parametrize("slug", ["cart", "orders", "admin", "payment"])
    def test_slugs_of_other_pages_are_refused(self, slug):
        with pytest.raises(ValidationError):
            Category(name="Clash", slug=slug).full_clean()


@pytest.mark.django_db
class TestCatalogAdmin:
    def test_product_and_category_admin_pages_load(self, admin_client):
        product = ProductFactory()
        for url in (
            reverse("admin:shop_product_changelist"),
            reverse("admin:shop_product_change", args=[product.id]),
            reverse("admin:shop_category_changelist"),
            reverse("admin:shop_product_add"),
        ):
            assert admin_client.get(url).status_code == 200, url

    def test_changelist_edits_price_stock_and_availability_in_place(self, admin_client):
        response = admin_client.get(reverse("admin:shop_product_changelist"))
        assert set(response.context["cl"].list_editable) == {"price", "stock", "available"}


@pytest.mark.django_db
class TestHealthz:
    def test_answers_ok_without_touching_the_database(self, client, django_assert_num_queries):
        with django_assert_num_queries(0):
            response = client.get("/healthz/")
        assert response.status_code == 200
        assert response.content == b"ok"


class TestCatalogLayering:
    def test_the_catalog_imports_nothing_from_the_cart(self):
        # The cart builds on the catalog; its add-to-cart form reaches product pages through a
        # template tag ({% cart_add_form %}), never through an import.
        shop = Path(__file__).resolve().parent.parent
        imports = []
        for module in shop.rglob("*.py"):
            if "tests" in module.relative_to(shop).parts:
                continue
            for node in ast.walk(ast.parse(module.read_text())):
                if isinstance(node, ast.ImportFrom) and node.module:
                    imports.append((module.name, node.module))
                elif isinstance(node, ast.Import):
                    imports.extend((module.name, alias.name) for alias in node.names)
        assert [(name, m) for name, m in imports if m.startswith("apps.cart")] == []
