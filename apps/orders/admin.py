from django.contrib import admin
from django.utils.html import format_html

from apps.orders.csv_export import orders_csv_response
from apps.orders.models import Order, OrderItem


class OrderItemInline(admin.TabularInline):
    model = OrderItem
    raw_id_fields = ["product"]
    extra = 0


@admin.action(description="Export selected orders to CSV")
def export_to_csv(modeladmin, request, queryset):
    return orders_csv_response(queryset)


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = ["id", "first_name", "last_name", "email", "address", "postal_code", "city",
                    "paid", "created", "updated", "order_detail"]
    list_filter = ["paid", "created", "updated"]
    search_fields = ["id", "first_name", "last_name", "email"]
    inlines = [OrderItemInline]
    actions = [export_to_csv]

    @admin.display(description="Details")
    def order_detail(self, order):
        return format_html('<a href="{}">View</a>', order.get_admin_detail_url())
