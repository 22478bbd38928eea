from django.contrib import admin, messages
from django.utils.html import format_html

from apps.orders import services
from apps.orders.csv_export import orders_csv_response
from apps.orders.models import Order, OrderItem


class OrderItemInline(admin.TabularInline):
    model = OrderItem
    raw_id_fields = ["product"]
    extra = 0


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


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = ["id", "first_name", "last_name", "email", "address", "postal_code", "city",
                    "paid", "created", "updated", "confirmation_status", "order_detail"]
    list_filter = ["paid", "created", "updated", "confirmation_status"]
    readonly_fields = ["confirmation_status", "confirmation_attempts", "confirmation_claimed_at",
                       "confirmation_sent_at", "confirmation_error"]
    search_fields = ["id", "first_name", "last_name", "email"]
    inlines = [OrderItemInline]
    actions = [export_to_csv, resend_confirmation]

    @admin.display(description="Details")
    def order_detail(self, order):
        return format_html('<a href="{}">View</a>', order.get_admin_detail_url())
