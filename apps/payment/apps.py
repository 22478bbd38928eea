from django.apps import AppConfig


class PaymentConfig(AppConfig):
    name = "apps.payment"
    label = "payment"

    def ready(self):
        from apps.payment import invoices  # noqa: F401 - connects the order_paid receiver
