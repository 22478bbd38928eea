"""The catalog in the admin. Product saves never undo sales and never deadlock against checkout."""

import logging

from django.contrib import admin, messages
from django.db import OperationalError, transaction
from django.http import HttpResponseRedirect

from apps.shop.admin_forms import ProductAdminForm, ProductListEditFormSet
from apps.shop.models import Category, Product
from shop_project.transactions import lock_race

logger = logging.getLogger(__name__)

# How often a product save that lost a lock race is tried in all. Lock order makes a loss rare
# (rows are locked by id, as checkout does); a writer that locks otherwise can still cause one.
SAVE_ATTEMPTS = 3
@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ["name_en", "slug_en", "name_ko", "slug_ko"]
    fieldsets = [
        ("English", {"fields": ["name_en", "slug_en"]}),
        ("Korean (한국어): blank shows the English", {"fields": ["name_ko", "slug_ko"]}),
    ]
    # Each slug from its own language's name; the Korean one keeps Hangul (allow_unicode).
    prepopulated_fields = {"slug_en": ("name_en",), "slug_ko": ("name_ko",)}
    search_fields = ["name_en", "name_ko"]


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    form = ProductAdminForm
    list_display = ["name_en", "name_ko", "slug_en", "category", "price", "stock", "available", "created",
                    "updated"]
    list_editable = ["price", "stock", "available"]
    list_filter = ["available", "category", "created", "updated"]
    list_select_related = ["category"]
    search_fields = ["name_en", "name_ko", "description_en", "description_ko"]
    fieldsets = [
        (None, {"fields": ["category", "image", "price", "stock", "available"]}),
        ("English", {"fields": ["name_en", "slug_en", "description_en"]}),
        ("Korean (한국어): blank shows the English", {"fields": ["name_ko", "slug_ko", "description_ko"]}),
    ]
    prepopulated_fields = {"slug_en": ("name_en",), "slug_ko": ("name_ko",)}
    autocomplete_fields = ["category"]

    def get_changelist_form(self, request, **kwargs):
        return super().get_changelist_form(request, **{"form": ProductAdminForm, **kwargs})

    def get_changelist_formset(self, request, **kwargs):
        return super().get_changelist_formset(request, **{"formset": ProductListEditFormSet, **kwargs})

    def save_model(self, request, obj, form, change):
        if not change:
            super().save_model(request, obj, form, change)
            return
        form.save_changes()
        if form.stock_change and obj.stock != form.stock_shown + form.stock_change:
            note = (f"Stock of “{obj}” is now {obj.stock}: your change of {form.stock_change:+d} was "
                    f"applied to the {obj.stock - form.stock_change} in stock when you saved "
                    f"(the page showed {form.stock_shown}).")
            # Said only if this save commits: a save retried after a lost lock race says it once.
            transaction.on_commit(lambda: self.message_user(request, note, messages.INFO))

    def changelist_view(self, request, extra_context=None):
        return self._saved_with_retries(request, super().changelist_view, request, extra_context)

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        return self._saved_with_retries(
            request, super().changeform_view, request, object_id, form_url, extra_context
        )

    def _saved_with_retries(self, request, view, *args):
        """Run a POST in one transaction, again if it lost a deadlock; a clear message, never a 500."""
        if request.method != "POST":
            return view(*args)
        for attempt in range(1, SAVE_ATTEMPTS + 1):
            try:
                with transaction.atomic():
                    return view(*args)
            except OperationalError as error:
                if lock_race(error) is None:
                    raise
                logger.warning("product admin save lost a lock race (attempt %d of %d): %s",
                               attempt, SAVE_ATTEMPTS, str(error).splitlines()[0])
        self.message_user(
            request,
            "Nothing was saved: shoppers were buying these products at the same moment. "
            "Please make your change again.",
            messages.ERROR,
        )
        return HttpResponseRedirect(request.get_full_path())
