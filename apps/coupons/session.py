"""The coupon a shopper applied, kept in the session next to the cart: its id, nothing else.

Like the cart's, the value is untrusted: anything but a plausible id reads as no coupon. Every
write goes to the session as stored (shop_project.sessions), so that applying or dropping a
coupon never undoes what another tab saved meanwhile (a line added to the cart).
"""

from shop_project.sessions import session_change_as_stored

COUPON_SESSION_KEY = "coupon_id"
_MAX_ID = 2**63 - 1


def session_coupon_id(session) -> int | None:
    value = session.get(COUPON_SESSION_KEY)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= _MAX_ID:
        return None
    return value


def session_coupon_apply(session, coupon_id: int) -> None:
    def apply(stored) -> None:
        stored[COUPON_SESSION_KEY] = coupon_id
        stored.modified = True

    session_change_as_stored(session, apply)


def session_coupon_drop(session, coupon_id: int | None = None) -> None:
    """Drop the applied coupon; with `coupon_id`, only if that is still the one applied (another
    tab may have applied another meanwhile)."""

    def drop(stored) -> None:
        if COUPON_SESSION_KEY in stored and coupon_id in (None, stored[COUPON_SESSION_KEY]):
            del stored[COUPON_SESSION_KEY]
            stored.modified = True

    session_change_as_stored(session, drop)
