from django.urls import path
from django.views.generic import RedirectView

from apps.orders import views
from apps.payment.invoice_views import admin_order_pdf

app_name = "orders"

urlpatterns = [
    path("create/", views.order_create, name="order_create"),
    path("created/<int:order_id>/", views.order_created, name="order_created"),
    # The staff order page moved under the admin; old bookmarks and links still find it.
    path(
        "admin/order/<int:order_id>/",
        RedirectView.as_view(pattern_name="admin:orders_order_detail", permanent=True),
        name="admin_order_detail",
    ),
    path("admin/order/<int:order_id>/pdf/", admin_order_pdf, name="admin_order_pdf"),
]
