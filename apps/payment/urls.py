from django.urls import path

from apps.payment import webhooks

app_name = "payment"

urlpatterns = [
    path("webhook/", webhooks.stripe_webhook, name="webhook"),
]
