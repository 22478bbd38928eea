from django.urls import path

from apps.payment import views

app_name = "payment"

# The webhook is in shop_project/urls.py: outside the language prefixes, at one URL.

urlpatterns = [
    path("process/", views.payment_process, name="process"),
    path("setup/", views.payment_setup, name="setup"),
    path("completed/", views.payment_completed, name="completed"),
    path("canceled/", views.payment_canceled, name="canceled"),
]
