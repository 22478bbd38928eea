"""Orders in the admin: the list with its CSV export and resend action, the change page, the order page."""

from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import render
from django.urls import path, reverse
from django.utils.html import format_html

from apps.orders import selectors, services
from apps.orders.csv_export import orders_csv_response
from apps.orders.models import Order, OrderItem


class OrderItemInline(admin.TabularInline):
    """An order's lines, shown and never changed: they are what the shopper paid for and what
    checkout took from stock, and an edit here would move the money without moving the stock."""

    model = OrderItem
    fields = ["product", "price", "quantity", "cost"]
    readonly_fields = fields
    extra = 0

    def has_add_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="Cost")
    def cost(self, item):
        return item.get_cost()


@admin.action(description="Export selected orders to CSV")
def export_to_csv(modeladmin, request, queryset):
    return orders_csv_response(queryset)


@admin.action(description="Send the failed confirmation e-mails again", permissions=["change"])
def resend_confirmation(modeladmin, request, queryset):
    queued = services.order_confirmations_resend(order_ids=list(queryset.values_list("id", flat=True)))
    modeladmin.message_user(
        request,
        f"{queued} confirmation(s) queued again. Only failed confirmations are resent.",
        messages.SUCCESS if queued else messages.WARNING,
    )


@admin.action(description="Mark selected paid orders as shipped", permissions=["change"])
def mark_shipped(modeladmin, request, queryset):
    from apps.payment.services import order_ship

    ids = list(queryset.values_list("id", flat=True))
    shipped = sum(order_ship(order_id=order_id) for order_id in ids)
    modeladmin.message_user(
        request, f"{shipped} order(s) marked shipped. Only paid orders can be shipped.",
        messages.SUCCESS if shipped == len(ids) else messages.WARNING,
    )


@admin.action(description="Refund selected orders through Stripe", permissions=["change"])
def refund(modeladmin, request, queryset):
    import stripe

    from apps.payment.services import RefundRefusedError, order_refund

    for order_id in queryset.values_list("id", flat=True):
        try:
            order = order_refund(order_id=order_id)
        except RefundRefusedError as error:
            modeladmin.message_user(request, str(error), messages.ERROR)
        except stripe.StripeError as error:
            modeladmin.message_user(request, f"Order {order_id} was not refunded: Stripe answered "
                                    f"{error.user_message or error}. Try again later.", messages.ERROR)
        else:
            modeladmin.message_user(request, f"Order {order.id} refunded ({order.stripe_refund_id}).",
                                    messages.SUCCESS)


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = ["id", "first_name", "last_name", "email", "address", "postal_code", "city",
                    "paid", "status", "needs_attention", "created", "updated", "confirmation_status",
                    "order_detail", "order_pdf"]
    list_filter = ["status", "needs_attention", "paid", "created", "updated", "confirmation_status",
                   "language"]
    # The payment's state moves only through apps.payment.services (the actions below, the
    # webhook, the sweep), never by editing the form: that would move money without stock.
    readonly_fields = ["status", "paid", "stripe_payment", "payment_deadline", "paid_at",
                       "payment_failure_code", "payment_failure_message", "stripe_refund_id",
                       "refunded_at", "attention_note",
                       "confirmation_status", "confirmation_attempts", "confirmation_claimed_at",
                       "confirmation_sent_at", "confirmation_error",
                       "invoice_status", "invoice_due_at", "invoice_queued_at", "invoice_attempts",
                       "invoice_claimed_at", "invoice_sent_at", "invoice_error",
                       "coupon", "discount", "totals",
                       "language"]  # the e-mails' and the invoice's: what the shopper read at checkout
    exclude = ["stripe_id"]
    search_fields = ["id", "first_name", "last_name", "email"]
    inlines = [OrderItemInline]
    actions = [export_to_csv, resend_confirmation, mark_shipped, refund]

    def get_urls(self):
        # Before the admin's own: its catch-all "<object_id>/" would take "<id>/detail/".
        detail = path(
            "<int:order_id>/detail/",
            self.admin_site.admin_view(self.detail_view),
            name=f"{self.opts.app_label}_{self.opts.model_name}_detail",
        )
        return [detail, *super().get_urls()]

    def detail_view(self, request, order_id: int):
        """The order page staff print or read out: customer, lines and total."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        order = selectors.order_with_items(order_id=order_id)
        if order is None:
            raise Http404("No such order.")
        context = {**self.admin_site.each_context(request), "opts": self.opts, "order": order,
                   "title": f"Order {order.id}"}
        return render(request, "orders/admin/order/detail.html", context)

    @admin.display(description="Subtotal − discount = total")
    def totals(self, order):
        # What was charged; the coupon and its percent are the order's, never edited here.
        t = order.get_totals()
        return f"${t.subtotal} − ${t.discount} ({t.discount_percent}%) = ${t.total}"

    @admin.display(description="Details")
    def order_detail(self, order):
        return format_html('<a href="{}">View</a>', order.get_admin_detail_url())

    @admin.display(description="Invoice")
    def order_pdf(self, order):
        return format_html('<a href="{}">PDF</a>', reverse("orders:admin_order_pdf", args=[order.id]))

    @admin.display(description="Stripe payment")
    def stripe_payment(self, order):
        """The PaymentIntent in Stripe's dashboard: its test half for a test key."""
        if not order.stripe_id:
            return "-"
        test = "/test" if settings.STRIPE_SECRET_KEY.startswith(("sk_test_", "rk_test_")) else ""
        url = f"https://dashboard.stripe.com{test}/payments/{order.stripe_id}"
        return format_html('<a href="{}" target="_blank" rel="noopener">{}</a>', url, order.stripe_id)
