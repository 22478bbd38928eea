"""Top-level URLs. The shop's pages live under a language prefix (/en/, /ko/); the webhook, the
health check, the admin and the files stay outside, at one URL each. Within the prefix the
catalog comes last: its `/<category_slug>/` would shadow the others."""

from django.conf import settings
from django.conf.urls.i18n import i18n_patterns
from django.contrib import admin
from django.urls import include, path, re_path
from django.views.static import serve

from apps.payment.webhooks import stripe_webhook
from shop_project.views import healthz, switch_language

# Error pages that never read the request body (shop_project/views.py says why).
handler400 = "shop_project.views.bad_request"
handler403 = "shop_project.views.permission_denied"
handler404 = "shop_project.views.page_not_found"
handler500 = "shop_project.views.server_error"

urlpatterns = [
    path("healthz/", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    # Stripe and localstripe are registered with this URL: it must not depend on a language.
    path("payment/webhook/", stripe_webhook, name="payment_webhook"),
    path("language/", switch_language, name="switch_language"),
    *i18n_patterns(
        path("cart/", include("apps.cart.urls", namespace="cart")),
        path("orders/", include("apps.orders.urls", namespace="orders")),
        path("coupons/", include("apps.coupons.urls", namespace="coupons")),
        path("payment/", include("apps.payment.urls", namespace="payment")),
        path("", include("apps.shop.urls", namespace="shop")),
        prefix_default_language=True,
    ),
]

if settings.DEBUG or settings.SERVE_MEDIA:
    # Product images from MEDIA_ROOT: `make run` and the docker stack. On AWS they are on S3.
    media_prefix = settings.MEDIA_URL.lstrip("/")
    media = re_path(rf"^{media_prefix}(?P<path>.*)$", serve, {"document_root": settings.MEDIA_ROOT})
    urlpatterns.insert(0, media)
