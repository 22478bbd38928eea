"""Staff download an order's PDF invoice at /orders/admin/order/<id>/pdf/, linked from its admin pages."""

import io

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from pypdf import PdfReader
from pytest_django.asserts import assertContains

from apps.orders.tests.factories import OrderItemFactory


def pdf_url(order_id: int) -> str:
    return reverse("orders:admin_order_pdf", args=[order_id])


@pytest.fixture
def clerk(client, django_user_model):
    """A logged-in staff member with no permission yet."""
    user = django_user_model.objects.create_user(username="clerk", is_staff=True)
    client.force_login(user)
    return user


@pytest.mark.django_db
class TestInvoiceDownload:
    def test_is_at_the_books_address(self, paid_order):
        assert pdf_url(paid_order.id) == f"/en/orders/admin/order/{paid_order.id}/pdf/"

    def test_staff_get_the_invoice_pdf(self, admin_client, paid_order):
        response = admin_client.get(pdf_url(paid_order.id))

        assert response.status_code == 200
        assert response["Content-Type"] == "application/pdf"
        assert response["Content-Disposition"] == f'inline; filename="invoice_{paid_order.id}.pdf"'
        assert "private" in response["Cache-Control"] or "no-cache" in response["Cache-Control"]
        assert "민준 김" in PdfReader(io.BytesIO(response.content)).pages[0].extract_text()

    def test_staff_with_the_view_permission_may_download_it(self, client, clerk, paid_order):
        clerk.user_permissions.add(Permission.objects.get(codename="view_order"))

        assert client.get(pdf_url(paid_order.id)).status_code == 200

    def test_staff_without_the_view_permission_are_refused(self, client, clerk, paid_order):
        response = client.get(pdf_url(paid_order.id))

        assert response.status_code == 403
        assert response["Content-Type"] != "application/pdf"

    def test_anonymous_is_sent_to_the_admin_login(self, client, paid_order):
        response = client.get(pdf_url(paid_order.id))

        assert response.status_code == 302
        assert response["Location"].startswith(reverse("admin:login"))

    def test_logged_in_customer_who_is_not_staff_is_sent_to_the_admin_login(
        self, client, django_user_model, paid_order
    ):
        client.force_login(django_user_model.objects.create_user(username="shopper"))

        response = client.get(pdf_url(paid_order.id))

        assert response.status_code == 302
        assert response["Location"].startswith(reverse("admin:login"))

    def test_unknown_order_is_404(self, admin_client, paid_order):
        assert admin_client.get(pdf_url(paid_order.id + 1000)).status_code == 404

    def test_queries_do_not_grow_with_the_order_lines(self, admin_client, paid_order):
        def queries() -> int:
            with CaptureQueriesContext(connection) as captured:
                assert admin_client.get(pdf_url(paid_order.id)).status_code == 200
            return len(captured)

        few = queries()
        OrderItemFactory.create_batch(18, order=paid_order)
        assert queries() == few

    def test_the_order_pages_of_the_admin_link_it(self, admin_client, paid_order):
        changelist = admin_client.get(reverse("admin:orders_order_changelist"))
        assertContains(changelist, f'<a href="{pdf_url(paid_order.id)}">PDF</a>', html=True)
        detail = admin_client.get(paid_order.get_admin_detail_url())
        assertContains(detail, f'<a href="{pdf_url(paid_order.id)}">Invoice (PDF)</a>', html=True)


@pytest.mark.django_db
def test_the_invoice_state_is_shown_and_not_editable_on_the_change_page(admin_client, paid_order):
    page = admin_client.get(reverse("admin:orders_order_change", args=[paid_order.id]))

    form = page.context["adminform"].form
    assert not {"invoice_status", "invoice_due_at", "invoice_attempts", "invoice_error"} & set(form.fields)
    assertContains(page, "Invoice status")
