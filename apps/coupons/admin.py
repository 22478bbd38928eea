"""Coupons in the admin: the list with filters, search and how many orders use each."""

from django import forms
from django.contrib import admin

from apps.coupons.models import Coupon, normalize_code


class CouponAdminForm(forms.ModelForm):
    class Meta:
        model = Coupon
        fields = ["code", "valid_from", "valid_to", "discount", "active", "max_uses"]

    def clean_code(self) -> str:
        # Before the field's validators see it as the model would store it.
        return normalize_code(self.cleaned_data["code"])


@admin.register(Coupon)
class CouponAdmin(admin.ModelAdmin):
    form = CouponAdminForm
    list_display = ["code", "discount", "valid_from", "valid_to", "active", "usage"]
    list_filter = ["active", "valid_from", "valid_to"]
    search_fields = ["code"]
    readonly_fields = ["used"]

    @admin.display(description="Orders using it", ordering="used")
    def usage(self, coupon):
        return coupon.usage
