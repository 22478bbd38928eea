"""The staff download of an order's PDF invoice, /orders/admin/order/<id>/pdf/ (the book's URL)."""

from django.contrib.admin.views.decorators import staff_member_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.views.decorators.cache import never_cache

from apps.orders import selectors
from apps.payment import invoice


@never_cache
@staff_member_required
def admin_order_pdf(request, order_id: int):
    """The invoice as the customer gets it; staff who may view orders (as on the order page)."""
    if not request.user.has_perm("orders.view_order"):
        raise PermissionDenied
    order = selectors.order_with_items(order_id=order_id)
    if order is None:
        raise Http404("No such order.")
    response = HttpResponse(invoice.order_invoice_pdf(order), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{invoice.invoice_filename(order.id)}"'
    return response
