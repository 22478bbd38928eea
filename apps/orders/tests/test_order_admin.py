"""Orders in the admin: the changelist, the change page, the CSV export and the staff order page."""

import csv
import io
from decimal import Decimal

import pytest
from django.urls import reverse
from pytest_django.asserts import assertContains, assertTemplateUsed

from apps.orders.models import ConfirmationStatus
from apps.orders.tests.factories import OrderFactory, OrderItemFactory
from apps.shop.tests.factories import ProductFactory

CHANGELIST_URL = reverse("admin:orders_order_changelist")

CSV_HEADER = ["id", "first_name", "last_name", "email", "address", "postal_code", "city",
              "paid", "created", "updated", "subtotal", "discount", "total_cost"]


def export(admin_client, orders):
    return admin_client.post(
        CHANGELIST_URL,
        {"action": "export_to_csv", "_selected_action": [o.id for o in orders]},
    )


def csv_rows(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.content.decode("utf-8"))))


@pytest.mark.django_db
class TestOrderAdmin:
    def test_changelist_lists_orders(self, admin_client, order):
        response = admin_client.get(CHANGELIST_URL)

        assert response.status_code == 200
        assertContains(response, "Lovelace")
        assertContains(response, order.get_admin_detail_url())

    def test_change_page_shows_the_items_inline(self, admin_client, order):
        response = admin_client.get(reverse("admin:orders_order_change", args=[order.id]))

        assert response.status_code == 200
        (inline,) = response.context["inline_admin_formsets"]
        assert {form.instance.product.name for form in inline.formset.forms} == {"Desk lamp", "Mug"}
        assertContains(response, 'name="items-TOTAL_FORMS" value="2"', html=False)

    def test_csv_export_is_an_attachment_with_a_header_and_a_row_per_selected_order(
        self, admin_client, order
    ):
        cheap = OrderFactory()
        OrderItemFactory(order=cheap, product=ProductFactory(price=Decimal("3.25")), quantity=4)
        not_selected = OrderFactory()
        OrderItemFactory(order=not_selected)

        response = export(admin_client, [order, cheap])

        assert response.status_code == 200
        assert response["Content-Type"] == "text/csv; charset=utf-8"
        assert response["Content-Disposition"].startswith('attachment; filename="orders-')
        assert response["Content-Disposition"].endswith('.csv"')
        header, *rows = csv_rows(response)
        assert header == CSV_HEADER
        by_id = {row[0]: dict(zip(header, row, strict=True)) for row in rows}
        assert set(by_id) == {str(order.id), str(cheap.id)}
        assert Decimal(by_id[str(order.id)]["total_cost"]) == Decimal("62.30")
        assert Decimal(by_id[str(cheap.id)]["total_cost"]) == Decimal("13.00")
        assert by_id[str(order.id)]["first_name"] == "Ada"
        assert by_id[str(order.id)]["email"] == order.email
        assert by_id[str(order.id)]["paid"] == "False"

    def test_csv_total_cost_is_written_with_two_decimal_places(self, admin_client, order):
        header, row = csv_rows(export(admin_client, [order]))

        total = dict(zip(header, row, strict=True))["total_cost"]
        # On SQLite the database sums in floating point and Django hands back the sum unquantized
        # ("62.3000000000000"); a money column must read the same on every database.
        assert total == "62.30", f"total_cost written as {total!r}, expected '62.30'"

    @pytest.mark.parametrize(
        "typed",
        ['=HYPERLINK("x")', "+1+1", "-2+3", "@SUM(A1:A2)"],
    )
    def test_csv_export_writes_a_formula_like_value_as_text(self, admin_client, typed):
        order = OrderFactory(first_name=typed)
        OrderItemFactory(order=order)

        header, row = csv_rows(export(admin_client, [order]))

        assert dict(zip(header, row, strict=True))["first_name"] == "'" + typed

    def test_csv_export_leaves_ordinary_values_alone(self, admin_client):
        order = OrderFactory(first_name="Zoë", address="1 Main St, Apt 2")
        OrderItemFactory(order=order)

        header, row = csv_rows(export(admin_client, [order]))

        cells = dict(zip(header, row, strict=True))
        assert (cells["first_name"], cells["address"]) == ("Zoë", "1 Main St, Apt 2")


@pytest.mark.django_db
class TestAdminOrderDetail:
    def url(self, order_id):
        return reverse("admin:orders_order_detail", args=[order_id])

    def test_is_served_under_the_admin(self, order):
        assert self.url(order.id) == f"/admin/orders/order/{order.id}/detail/"

    def test_staff_sees_the_order_with_its_items_and_total(self, admin_client, order):
        response = admin_client.get(self.url(order.id))

        assert response.status_code == 200
        assertTemplateUsed(response, "orders/admin/order/detail.html")
        assertContains(response, "Ada Lovelace")
        assertContains(response, "<td>Desk lamp</td>", html=True)
        assertContains(response, "<td>Mug</td>", html=True)
        assertContains(response, '<td class="num">$39.80</td>', html=True)
        assertContains(response, '<td class="num">$62.30</td>', html=True)
        # Inside the admin's own frame: its header and the staff member's links.
        assertContains(response, 'id="user-tools"', html=False)

    def test_the_changelist_view_link_opens_it(self, admin_client, order):
        response = admin_client.get(CHANGELIST_URL)

        assertContains(response, f'<a href="{self.url(order.id)}">View</a>', html=True)
        assert admin_client.get(self.url(order.id)).status_code == 200

    def test_the_old_address_is_a_permanent_redirect_to_it(self, admin_client, order):
        response = admin_client.get(f"/en/orders/admin/order/{order.id}/")

        assert response.status_code == 301
        assert response["Location"] == self.url(order.id)

    def test_anonymous_is_sent_to_the_admin_login(self, client, order):
        response = client.get(self.url(order.id))

        assert response.status_code == 302
        assert response["Location"].startswith(reverse("admin:login"))
        assert b"Lovelace" not in response.content

    def test_logged_in_customer_who_is_not_staff_is_sent_to_the_admin_login(
        self, client, django_user_model, order
    ):
        user = django_user_model.objects.create_user(username="shopper", password="a-long-password-1")
        client.force_login(user)

        response = client.get(self.url(order.id))

        assert response.status_code == 302
        assert response["Location"].startswith(reverse("admin:login"))
        assert b"Lovelace" not in response.content

    def test_staff_without_the_view_permission_are_refused(self, client, django_user_model, order):
        user = django_user_model.objects.create_user(username="clerk", password="x-long-password-1",
                                                     is_staff=True)
        client.force_login(user)

        response = client.get(self.url(order.id))

        assert response.status_code == 403
        assert b"Lovelace" not in response.content

    def test_unknown_order_is_404_for_staff(self, admin_client, order):
        response = admin_client.get(self.url(order.id + 1000))

        assert response.status_code == 404


@pytest.mark.django_db
class TestOrderItemsInline:
    """An order's lines are what the shopper paid for and what stock was taken for: the admin
    shows them and does not change them (a change would move money without moving stock)."""

    def change(self, admin_client, order, **fields):
        url = reverse("admin:orders_order_change", args=[order.id])
        page = admin_client.get(url)
        form = page.context["adminform"].form
        data = {name: form[name].value() for name in form.fields if form[name].value() is not None}
        data.update({"items-TOTAL_FORMS": "2", "items-INITIAL_FORMS": "2", "items-MIN_NUM_FORMS": "0",
                     "items-MAX_NUM_FORMS": "1000", "_save": "Save"})
        for index, item in enumerate(order.items.order_by("id")):
            data.update({f"items-{index}-id": item.id, f"items-{index}-order": order.id,
                         f"items-{index}-product": item.product_id, f"items-{index}-price": item.price,
                         f"items-{index}-quantity": item.quantity})
        data.update(fields)
        return admin_client.post(url, data)

    def test_quantities_prices_and_products_of_an_order_are_not_changed_from_the_admin(
        self, admin_client, order
    ):
        other_product = ProductFactory(price=Decimal("1.00"))

        response = self.change(admin_client, order, **{
            "items-0-quantity": "50", "items-0-price": "0.01", "items-0-product": other_product.id,
            "items-1-DELETE": "on", "city": "Paris",
        })

        assert response.status_code == 302
        order.refresh_from_db()
        assert order.city == "Paris"
        lines = sorted((item.product.name, item.price, item.quantity) for item in order.items.all())
        assert lines == [("Desk lamp", Decimal("19.90"), 2), ("Mug", Decimal("7.50"), 3)], lines
        assert order.get_total_cost() == Decimal("62.30")

    def test_no_line_can_be_added_to_an_order(self, admin_client, order):
        response = admin_client.get(reverse("admin:orders_order_change", args=[order.id]))

        (inline,) = response.context["inline_admin_formsets"]
        assert not inline.has_add_permission and not inline.has_delete_permission


@pytest.mark.django_db
class TestResendConfirmation:
    def resend(self, admin_client, orders):
        return admin_client.post(
            reverse("admin:orders_order_changelist"),
            {"action": "resend_confirmation", "_selected_action": [o.id for o in orders]},
            follow=True,
        )

    def test_failed_confirmations_are_queued_again(self, admin_client):
        # The test settings' broker is kombu's in-memory one: QUEUED means it took the message.
        failed = OrderFactory(confirmation_status=ConfirmationStatus.FAILED, confirmation_error="SMTP down")
        sent = OrderFactory(confirmation_status=ConfirmationStatus.SENT)
        response = self.resend(admin_client, [failed, sent])
        failed.refresh_from_db()
        sent.refresh_from_db()
        assert failed.confirmation_status == ConfirmationStatus.QUEUED
        assert sent.confirmation_status == ConfirmationStatus.SENT
        assert "1 confirmation(s) queued again" in response.content.decode()

    def test_changelist_shows_and_filters_by_confirmation_status(self, admin_client):
        OrderFactory(confirmation_status=ConfirmationStatus.FAILED)
        response = admin_client.get(
            reverse("admin:orders_order_changelist"), {"confirmation_status__exact": "failed"}
        )
        assert response.status_code == 200
        assert response.context["cl"].result_count == 1
