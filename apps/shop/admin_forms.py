"""Product forms for staff: a save writes only what the clerk changed, and stock as a difference.

Units keep selling while a clerk has a product page or the product list open. Each field carries
the value the page showed (Django's hidden initial), so a save can tell what the clerk changed
from what merely went stale: fields the clerk left alone are not written at all, and a stock the
clerk typed is applied as `stock = stock + (typed - shown)`, checked against the locked row.
"""

from collections.abc import Iterable

from django import forms
from django.db.models import F
from django.forms.models import BaseModelFormSet

from apps.shop.models import Product

WRITABLE_FIELDS = frozenset(field.name for field in Product._meta.concrete_fields)


def products_lock(product_ids: Iterable[int]) -> dict[int, int]:
    """Lock the products' rows in id order, the order checkout locks them in; returns their stock.

    Needs a transaction. Locking a row this transaction already holds waits for nothing.
    """
    ids = sorted(set(product_ids))
    if not ids:
        return {}
    return dict(
        Product.objects.select_for_update().filter(id__in=ids).order_by("id").values_list("id", "stock")
    )


class MultilineTextField(forms.CharField):
    """Text whose line breaks are compared as LF.

    A browser submits a textarea's line breaks as CRLF, but hands a hidden input's value back as
    the HTML parser left it, with LF: compared as typed, a description with line breaks would
    always look changed, and be written back over another clerk's edit.
    """

    def to_python(self, value):
        value = super().to_python(value)
        return value.replace("\r\n", "\n") if value else value


class ProductAdminForm(forms.ModelForm):
    """The product change form and each row of the list editing."""

    class Meta:
        model = Product
        fields = ["category", "name_en", "slug_en", "name_ko", "slug_ko", "image",
                  "description_en", "description_ko", "price", "stock", "available"]
        field_classes = {"description_en": MultilineTextField, "description_ko": MultilineTextField}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # A file input cannot be given back its value, so it is compared as Django always does.
        for field in self.fields.values():
            if not isinstance(field, forms.FileField):
                field.show_hidden_initial = True
        self.stock_change = 0
        self.stock_shown: int | None = None

    def shown_value(self, name: str):
        """The value of the field when the page was rendered, or None if the page did not say."""
        field = self.fields[name]
        raw = field.hidden_widget().value_from_datadict(self.data, self.files, self.add_initial_prefix(name))
        try:
            return field.to_python(raw)
        except forms.ValidationError:
            return None

    def clean(self):
        cleaned_data = super().clean()
        if self.instance.pk is not None and "stock" in self.changed_data and "stock" in cleaned_data:
            self._clean_stock_change(cleaned_data["stock"])
        return cleaned_data

    def _clean_stock_change(self, typed: int) -> None:
        shown = self.shown_value("stock")
        if shown is None:
            self.add_error("stock", "This page does not say what stock it showed: reload it and enter the "
                                    "stock again.")
            return
        in_stock = products_lock([self.instance.pk]).get(self.instance.pk)
        if in_stock is None:
            self.add_error(None, "This product was deleted meanwhile.")
            return
        change = typed - shown
        if in_stock + change < 0:
            self.add_error("stock", (
                f"Only {in_stock} left now, not the {shown} this page showed: taking away {-change} "
                "would leave less than none. Reload the page to see the stock."
            ))
            return
        self.stock_shown, self.stock_change = shown, change

    def save_changes(self) -> Product:
        """Write the fields the clerk changed and no other; stock moves by the clerk's change.

        Runs after `save(commit=False)` (the admin's save_form) has put the form's values on the
        instance, inside the transaction that locked the row in `clean`.
        """
        product = self.instance
        fields = [name for name in self.changed_data if name in WRITABLE_FIELDS and name != "stock"]
        if self.stock_change:
            product.stock = F("stock") + self.stock_change
            fields.append("stock")
        if fields:
            product.save(update_fields=[*fields, "updated"])
        if self.stock_change:
            product.refresh_from_db(fields=["stock"])
        return product


class ProductListEditFormSet(BaseModelFormSet):
    """The product list's editable rows.

    The list shows products by name; writing them in that order while checkout locks its rows by
    id is how a list save and two checkouts deadlock. So before any row is checked or written,
    every row the clerk changed is locked, in id order.
    """

    def full_clean(self):
        if self.is_bound:
            products_lock(form.instance.pk for form in self.forms
                          if form.instance.pk is not None and form.has_changed())
        super().full_clean()
