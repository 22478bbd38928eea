"""Why a coupon cannot be applied or used; each str() is a sentence for the shopper."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.formats import date_format
from django.utils.translation import gettext, pgettext

from apps.orders.exceptions import CheckoutError


class CouponError(Exception):
    """The code cannot be used now; nothing was changed."""


class CouponUnknownError(CouponError):
    def __init__(self, code: str | None = None):
        self.code = code
        if code:
            text = gettext("There is no coupon with “%(code)s”. Please check the code and try again.")
        else:
            text = gettext("There is no coupon with this code. Please check the code and try again.")
        super().__init__(text % {"code": code})


class CouponInactiveError(CouponError):
    def __init__(self, code: str):
        self.code = code
        super().__init__(gettext("The coupon %(code)s is no longer valid.") % {"code": code})


class CouponNotYetValidError(CouponError):
    def __init__(self, code: str, valid_from):
        self.code = code
        self.valid_from = valid_from
        super().__init__(
            gettext("The coupon %(code)s is not valid yet: it can be used from %(start)s UTC.")
            % {"code": code, "start": _when(valid_from)}
        )


class CouponExpiredError(CouponError):
    def __init__(self, code: str, valid_to):
        self.code = code
        self.valid_to = valid_to
        super().__init__(
            gettext("The coupon %(code)s expired on %(end)s UTC.") % {"code": code, "end": _when(valid_to)}
        )


class CouponUsedUpError(CouponError):
    def __init__(self, code: str):
        self.code = code
        text = gettext("The coupon %(code)s has been used as many times as it can be.")
        super().__init__(text % {"code": code})


class CouponUnavailableError(CheckoutError):
    """The coupon the checkout page showed cannot be used any more (used up by other orders
    meanwhile, expired, deactivated, deleted, or removed in another tab): nothing was ordered,
    and the page shows the total without it for the shopper to confirm."""

    def __init__(self, code: str, reason: str):
        self.code = code
        self.reason = reason
        super().__init__(gettext(
            "%(reason)s Your order was not placed: the total without the coupon is shown below. "
            "Please check it and place the order again."
        ) % {"reason": reason})


@dataclass(frozen=True)
class CouponChanged:
    """A change of the coupon since the checkout page was shown (one of CheckoutChangedError's)."""

    shown: str  # "no coupon", "SAVE10 (10% off)"
    now: str

    def __str__(self):
        return gettext("coupon now %(now)s instead of %(shown)s") % {"now": self.now, "shown": self.shown}


def _when(moment) -> str:
    # A date format the catalog translates: "01 January 2027, 00:00", "2027년 1월 1일 00:00".
    return date_format(moment, pgettext("coupon validity date format", "d F Y, H:i"))
