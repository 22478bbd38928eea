"""The cart page's coupon box."""

from django import forms
from django.utils.translation import gettext_lazy as _

from apps.coupons.models import CODE_MAX_LENGTH, CODE_PATTERN, normalize_code

ENTER_A_CODE = _("Enter a coupon code.")
NO_SUCH_CODE = _("There is no coupon with this code. Please check the code and try again.")


class CouponApplyForm(forms.Form):
    # Longer than any code, so that a code typed with spaces around it still fits; anything
    # longer is no code at all.
    code = forms.CharField(
        max_length=CODE_MAX_LENGTH + 20, label=_("Coupon"),
        widget=forms.TextInput(attrs={"autocomplete": "off", "placeholder": _("Code")}),
        error_messages={"required": ENTER_A_CODE, "max_length": NO_SUCH_CODE,
                        "null_characters_not_allowed": NO_SUCH_CODE},
    )

    def clean_code(self) -> str:
        code = normalize_code(self.cleaned_data["code"])
        if not code:
            raise forms.ValidationError(ENTER_A_CODE, code="required")
        if len(code) > CODE_MAX_LENGTH or not CODE_PATTERN.match(code):
            raise forms.ValidationError(NO_SUCH_CODE, code="invalid")
        return code
