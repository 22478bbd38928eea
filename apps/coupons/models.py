"""Coupons: a code that takes a percent off an order, valid for a time and a number of orders."""

import re

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models.functions import Lower

CODE_MAX_LENGTH = 50
# What a code may hold once normalized: shoppers type it, staff read it out over the phone.
CODE_PATTERN = re.compile(r"\A[A-Z0-9_-]+\Z")


def normalize_code(value: str) -> str:
    """The form a code is stored and looked up in: surrounding spaces dropped, upper case.

    Typed codes match case-insensitively because both sides go through this function.
    """
    return value.strip().upper()


class Coupon(models.Model):
    code = models.CharField(
        max_length=CODE_MAX_LENGTH, unique=True,
        validators=[RegexValidator(CODE_PATTERN, "Letters A–Z, digits, “-” and “_” only.")],
        help_text="Shoppers may type it in any case; it is stored in upper case.",
    )
    valid_from = models.DateTimeField()
    valid_to = models.DateTimeField()
    discount = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(0), MaxValueValidator(100)],
        help_text="Percent off the order total (0–100).",
    )
    active = models.BooleanField(default=True)
    max_uses = models.PositiveIntegerField(
        null=True, blank=True, help_text="How many orders may use it; empty for no limit."
    )
    # Orders placed with it that still hold their use (a cancelled unpaid order gives it back).
    # Changed only with F() updates under the coupon's row lock, never by a form.
    used = models.PositiveIntegerField(default=0, editable=False)

    class Meta:
        ordering = ["-valid_to", "code"]
        constraints = [
            # The stored code is normalized already; this holds even for a write that skipped save().
            models.UniqueConstraint(Lower("code"), name="coupon_code_unique_case_insensitive"),
            models.CheckConstraint(
                condition=models.Q(discount__gte=0, discount__lte=100), name="coupon_discount_0_to_100"
            ),
            models.CheckConstraint(condition=models.Q(valid_from__lt=models.F("valid_to")),
                                   name="coupon_valid_from_before_valid_to"),
            # The last guard of max_uses: no checkout can take a use beyond it.
            models.CheckConstraint(
                condition=models.Q(max_uses__isnull=True) | models.Q(used__lte=models.F("max_uses")),
                name="coupon_used_within_max_uses",
            ),
        ]

    def __str__(self):
        return self.code

    def save(self, *args, **kwargs):
        self.code = normalize_code(self.code)
        super().save(*args, **kwargs)

    def clean(self):
        errors = {}
        if self.valid_from and self.valid_to and self.valid_from >= self.valid_to:
            errors["valid_to"] = "Must be after “valid from”."
        if self.max_uses is not None and self.max_uses < self.used:
            errors["max_uses"] = f"{self.used} orders use it already: set at least {self.used}."
        if errors:
            raise ValidationError(errors)

    @property
    def usage(self) -> str:
        """How many orders use it, and of how many: "3 of 5", "3 (no limit)"."""
        return f"{self.used} of {self.max_uses}" if self.max_uses is not None else f"{self.used} (no limit)"
