"""Why a coupon cannot be applied or used; each str() is a sentence for the shopper."""

from __future__ import annotations

from dataclasses import dataclass

from apps.orders.exceptions import CheckoutError


class CouponError(Exception):
    """The code cannot be used now; nothing was changed."""


class CouponUnknownError(CouponError):
    def __init__(self, code: str | None = None):
        self.code = code
        named = f"“{code}”" if code else "this code"
        super().__init__(f"There is no coupon with {named}. Please check the code and try again.")


class CouponInactiveError(CouponError):
    def __init__(self, code: str):
        self.code = code
        super().__init__(f"The coupon {code} is no longer valid.")


class CouponNotYetValidError(CouponError):
    def __init__(self, code: str, valid_from):
        self.code = code
        self.valid_from = valid_from
        super().__init__(
            f"The coupon {code} is not valid yet: it can be used from {valid_from:%d %B %Y, %H:%M} UTC."
        )


class CouponExpiredError(CouponError):
    def __init__(self, code: str, valid_to):
        self.code = code
        self.valid_to = valid_to
        super().__init__(f"The coupon {code} expired on {valid_to:%d %B %Y, %H:%M} UTC.")


class CouponUsedUpError(CouponError):
    def __init__(self, code: str):
        self.code = code
        super().__init__(f"The coupon {code} has been used as many times as it can be.")


class CouponUnavailableError(CheckoutError):
    """The coupon the checkout page showed cannot be used any more (used up by other orders
    meanwhile, expired, deactivated, deleted, or removed in another tab): nothing was ordered,
    and the page shows the total without it for the shopper to confirm."""

    def __init__(self, code: str, reason: str):
        self.code = code
        self.reason = reason
        super().__init__(
            f"{reason} Your order was not placed: the total without the coupon is shown below. "
            "Please check it and place the order again."
        )


@dataclass(frozen=True)
class CouponChanged:
    """A change of the coupon since the checkout page was shown (one of CheckoutChangedError's)."""

    shown: str  # "no coupon", "SAVE10 (10% off)"
    now: str

    def __str__(self):
        return f"coupon now {self.now} instead of {self.shown}"
