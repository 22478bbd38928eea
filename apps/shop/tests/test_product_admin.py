"""Products in the admin: a clerk's save never undoes the sales made while the page was open.

Each test opens a page as a browser does (GET, then the form's fields read off the HTML), lets
units sell through the real checkout, and only then submits what the clerk typed.
"""

import re
import threading
from decimal import Decimal

import pytest
from django.contrib.messages import get_messages
from django.db import connection, connections, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from apps.shop.models import Product
from apps.shop.tests.factories import CategoryFactory, ProductFactory
from apps.shop.tests.pages import checkout, form_fields, placed_an_order
from tests.support.postgres import wait_until_a_session_waits_for_a_lock

CHANGELIST_URL = reverse("admin:shop_product_changelist")
CHANGE_FORM = '//form[@id="product_form"]'
CHANGELIST_FORM = '//form[@id="changelist-form"]'


def change_url(product: Product) -> str:
    return reverse("admin:shop_product_change", args=[product.id])


def sell(product: Product, quantity: int) -> None:
    assert placed_an_order(checkout(Client(), {product: quantity}))


def messages_of(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def product_updates(queries) -> list[str]:
    return [q["sql"] for q in queries if q["sql"].startswith('UPDATE "shop_product"')]


def list_edit(fields: dict, product: Product, **values) -> dict:
    """The changelist fields with this product's row edited (`price="12.50"`, `stock="3"`)."""
    (prefix,) = [name.removesuffix("id") for name, value in fields.items()
                 if name.startswith("form-") and name.endswith("-id") and value == str(product.id)]
    return {**fields, **{prefix + name: value for name, value in values.items()}, "_save": "Save"}


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
class TestProductChangeForm:
    def test_a_new_price_keeps_the_units_sold_while_the_page_was_open(self, admin_client):
        product = ProductFactory(stock=10, price=Decimal("10.00"))
        shown = form_fields(admin_client.get(change_url(product)), CHANGE_FORM)
        sell(product, 3)

        response = admin_client.post(change_url(product), {**shown, "price": "12.50", "_save": "Save"})

        assert response.status_code == 302
        product.refresh_from_db()
        assert product.price == Decimal("12.50")
        assert product.stock == 7, f"stock {product.stock} after 3 of 10 sold: sold units are on sale again"

    def test_stock_typed_by_the_clerk_is_applied_as_a_difference_from_what_the_page_showed(
        self, admin_client
    ):
        product = ProductFactory(stock=10)
        shown = form_fields(admin_client.get(change_url(product)), CHANGE_FORM)
        sell(product, 3)

        response = admin_client.post(change_url(product), {**shown, "stock": "15", "_save": "Save"})

        assert response.status_code == 302
        product.refresh_from_db()
        assert product.stock == 12, f"stock {product.stock}: 10 shown, 3 sold, the clerk added 5"
        assert any("now 12" in message for message in messages_of(response)), messages_of(response)

    def test_taking_away_more_units_than_are_left_is_refused_and_nothing_is_saved(self, admin_client):
        product = ProductFactory(stock=10, price=Decimal("10.00"))
        shown = form_fields(admin_client.get(change_url(product)), CHANGE_FORM)
        sell(product, 8)

        response = admin_client.post(
            change_url(product), {**shown, "stock": "5", "price": "11.00", "_save": "Save"}
        )

        assert response.status_code == 200
        errors = response.context["adminform"].form.errors
        assert "stock" in errors, errors
        assert "Only 2 left" in errors["stock"][0], errors["stock"]
        product.refresh_from_db()
        assert (product.stock, product.price) == (2, Decimal("10.00"))

    def test_a_price_set_meanwhile_by_other_staff_is_not_written_back(self, admin_client):
        product = ProductFactory(stock=10, price=Decimal("10.00"), description_en="Old words.")
        shown = form_fields(admin_client.get(change_url(product)), CHANGE_FORM)
        Product.objects.filter(id=product.id).update(price=Decimal("15.00"), available=False)

        response = admin_client.post(
            change_url(product), {**shown, "description_en": "New words.", "_save": "Save"}
        )

        assert response.status_code == 302
        product.refresh_from_db()
        assert product.description == "New words."
        assert (product.price, product.available) == (Decimal("15.00"), False), (
            f"price {product.price}, available {product.available}: the page's stale values were written"
        )

    def test_a_description_with_line_breaks_left_alone_is_not_written_back(self, admin_client):
        product = ProductFactory(description="First line.\r\nSecond line.")
        shown = form_fields(admin_client.get(change_url(product)), CHANGE_FORM)
        # As a browser posts the page: a hidden input's line breaks come back as the HTML parser
        # left them (LF), a textarea's as the form submission writes them (CRLF).
        browser = {**shown, "initial-description": "First line.\nSecond line.",
                   "description_en": "First line.\r\nSecond line."}
        Product.objects.filter(id=product.id).update(description_en="Rewritten by other staff.")

        response = admin_client.post(change_url(product), {**browser, "price": "12.50", "_save": "Save"})

        assert response.status_code == 302
        product.refresh_from_db()
        assert product.description == "Rewritten by other staff.", "the description left alone was written"

    def test_a_save_that_keeps_the_stock_does_not_write_it(self, admin_client):
        product = ProductFactory(stock=10)
        shown = form_fields(admin_client.get(change_url(product)), CHANGE_FORM)

        with CaptureQueriesContext(connection) as queries:
            response = admin_client.post(change_url(product), {**shown, "price": "9.99", "_save": "Save"})

        assert response.status_code == 302
        updates = product_updates(queries.captured_queries)
        assert len(updates) == 1, updates
        assert '"stock"' not in updates[0], updates[0]

    def test_a_stock_posted_without_the_value_the_page_showed_is_refused(self, admin_client):
        product = ProductFactory(stock=10)
        shown = form_fields(admin_client.get(change_url(product)), CHANGE_FORM)
        del shown["initial-stock"]

        response = admin_client.post(change_url(product), {**shown, "stock": "12", "_save": "Save"})

        assert response.status_code == 200
        assert "reload" in response.context["adminform"].form.errors["stock"][0]
        product.refresh_from_db()
        assert product.stock == 10

    def test_a_new_product_gets_the_stock_typed(self, admin_client):
        fields = form_fields(admin_client.get(reverse("admin:shop_product_add")), CHANGE_FORM)
        category = CategoryFactory()

        response = admin_client.post(reverse("admin:shop_product_add"), {
            **fields, "category": category.id, "name_en": "Teapot", "slug_en": "teapot", "price": "24.00",
            "stock": "6", "_save": "Save",
        })

        assert response.status_code == 302
        assert Product.objects.values_list("stock", "price").get(slug_en="teapot") == (6, Decimal("24.00"))


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
class TestProductListEditing:
    def test_a_new_price_keeps_the_units_sold_while_the_list_was_open(self, admin_client):
        product = ProductFactory(stock=10, price=Decimal("10.00"))
        other = ProductFactory(stock=4)
        shown = form_fields(admin_client.get(CHANGELIST_URL), CHANGELIST_FORM)
        sell(product, 3)
        sell(other, 1)

        response = admin_client.post(CHANGELIST_URL, list_edit(shown, product, price="12.50"))

        assert response.status_code == 302
        product.refresh_from_db()
        other.refresh_from_db()
        assert product.price == Decimal("12.50")
        assert product.stock == 7, f"stock {product.stock} after 3 of 10 sold: sold units are on sale again"
        assert other.stock == 3, f"stock {other.stock} of a row the clerk did not touch, after 1 of 4 sold"

    def test_stock_typed_in_the_list_is_applied_as_a_difference(self, admin_client):
        product = ProductFactory(stock=10)
        shown = form_fields(admin_client.get(CHANGELIST_URL), CHANGELIST_FORM)
        sell(product, 3)

        response = admin_client.post(CHANGELIST_URL, list_edit(shown, product, stock="20"))

        assert response.status_code == 302
        product.refresh_from_db()
        assert product.stock == 17, f"stock {product.stock}: 10 shown, 3 sold, the clerk added 10"

    def test_taking_away_more_units_than_are_left_is_refused_and_no_row_is_saved(self, admin_client):
        product = ProductFactory(stock=10, price=Decimal("10.00"))
        other = ProductFactory(stock=5, price=Decimal("5.00"))
        shown = form_fields(admin_client.get(CHANGELIST_URL), CHANGELIST_FORM)
        sell(product, 8)

        fields = list_edit(list_edit(shown, other, price="6.00"), product, stock="1")
        response = admin_client.post(CHANGELIST_URL, fields)

        assert response.status_code == 200
        row_errors = [form.errors for form in response.context["cl"].formset.forms if form.errors]
        assert len(row_errors) == 1 and "Only 2 left" in row_errors[0]["stock"][0], row_errors
        product.refresh_from_db()
        other.refresh_from_db()
        assert (product.stock, other.price) == (2, Decimal("5.00"))

    def test_rows_to_write_are_locked_in_id_order_before_the_first_write(self, admin_client):
        # Named so that the list (by name) shows them in the opposite order to their ids.
        first = ProductFactory(name="Zither")
        second = ProductFactory(name="Accordion")
        ProductFactory(name="Banjo")  # on the list, not edited: not locked
        shown = form_fields(admin_client.get(CHANGELIST_URL), CHANGELIST_FORM)

        with CaptureQueriesContext(connection) as queries:
            response = admin_client.post(
                CHANGELIST_URL, list_edit(list_edit(shown, first, price="1.00"), second, price="2.00")
            )

        assert response.status_code == 302
        sql = [q["sql"] for q in queries.captured_queries]
        locks = [i for i, s in enumerate(sql) if s.startswith('SELECT') and s.endswith("FOR UPDATE")]
        writes = [i for i, s in enumerate(sql) if s.startswith('UPDATE "shop_product"')]
        assert locks and writes and locks[0] < writes[0], sql
        first_lock = sql[locks[0]]
        # By id (the first column selected, or named).
        assert re.search(r'ORDER BY (1|"shop_product"\."id") ASC FOR UPDATE$', first_lock), first_lock
        assert f"IN ({first.id}, {second.id})" in first_lock, first_lock


@pytest.fixture
def other_writer_in_reverse_order():
    """Another writer that locks two products in the opposite order to the admin's: it holds the
    second one, waits until the admin's save waits for it, then asks for the first one. Its own
    deadlock check is slow, so the database picks the admin's transaction as the victim."""
    threads = []

    def start(*, holds: Product, then_takes: Product) -> threading.Event:
        holding = threading.Event()

        def run():
            try:
                with transaction.atomic():
                    with connection.cursor() as cursor:
                        cursor.execute("SET LOCAL deadlock_timeout = '20s'")
                    list(Product.objects.select_for_update().filter(id=holds.id))
                    holding.set()
                    wait_until_a_session_waits_for_a_lock()
                    list(Product.objects.select_for_update().filter(id=then_takes.id))
            finally:
                connections.close_all()

        thread = threading.Thread(target=run)
        threads.append(thread)
        thread.start()
        assert holding.wait(timeout=10)
        return holding

    yield start
    for thread in threads:
        thread.join(timeout=30)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
class TestListSaveThatLosesADeadlock:
    @pytest.fixture
    def staff(self, admin_user):
        client = Client(raise_request_exception=False)
        client.force_login(admin_user)
        # The admin's deadlock check runs first (the other writer's waits 20 s): it is the victim.
        with connection.cursor() as cursor:
            cursor.execute("SET deadlock_timeout = '100ms'")
        yield client
        with connection.cursor() as cursor:
            cursor.execute("RESET deadlock_timeout")

    def test_is_retried_and_saved(self, staff, other_writer_in_reverse_order, caplog):
        first = ProductFactory(name="Alpha", price=Decimal("10.00"))
        second = ProductFactory(name="Beta", price=Decimal("10.00"))
        shown = form_fields(staff.get(CHANGELIST_URL), CHANGELIST_FORM)
        other_writer_in_reverse_order(holds=second, then_takes=first)

        response = staff.post(CHANGELIST_URL, list_edit(list_edit(shown, first, price="11.00"), second,
                                                        price="12.00"))

        assert response.status_code == 302, response.status_code
        assert "lost a lock race (attempt 1 of 3)" in caplog.text  # it did deadlock, once
        assert "2 products were changed successfully." in messages_of(response)
        assert list(Product.objects.order_by("id").values_list("price", flat=True)) == [
            Decimal("11.00"), Decimal("12.00")
        ]

    def test_after_the_last_attempt_the_clerk_is_told_nothing_was_saved(
        self, staff, other_writer_in_reverse_order, monkeypatch
    ):
        monkeypatch.setattr("apps.shop.admin.SAVE_ATTEMPTS", 1, raising=False)
        first = ProductFactory(name="Alpha", price=Decimal("10.00"))
        second = ProductFactory(name="Beta", price=Decimal("10.00"))
        shown = form_fields(staff.get(CHANGELIST_URL), CHANGELIST_FORM)
        other_writer_in_reverse_order(holds=second, then_takes=first)

        response = staff.post(CHANGELIST_URL, list_edit(list_edit(shown, first, price="11.00"), second,
                                                        price="12.00"))

        assert response.status_code == 302, response.status_code
        assert any(message.startswith("Nothing was saved") for message in messages_of(response)), (
            messages_of(response)
        )
        assert list(Product.objects.values_list("price", flat=True)) == [Decimal("10.00")] * 2
