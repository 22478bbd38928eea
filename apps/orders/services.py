"""Writes of the orders app: turning a cart into an order, and confirming it by e-mail."""

from __future__ import annotations

import hashlib
import logging
import smtplib
import socket
import sys
import time
import traceback
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from importlib import import_module
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import IntegrityError, OperationalError, connection, transaction
from django.db.models import Case, F, Q, Value, When
from django.utils import timezone, translation

from apps.coupons.discount import order_totals
from apps.coupons.services import coupon_use_take
from apps.orders import selectors
from apps.orders.emails import order_confirmation_message
from apps.orders.exceptions import (
    CartAlreadyOrderedError,
    Change,
    CheckoutBusyError,
    CheckoutChangedError,
    ConfirmationClaimedError,
    ConfirmationGivenUpError,
    ConfirmationNotSentError,
    ConfirmationOutcomeUnknownError,
    EmptyCartError,
    LineAdded,
    LineRemoved,
    NothingToChargeError,
    OutOfStockError,
    PriceChanged,
    ProductsUnavailableError,
    QuantityChanged,
    Shortage,
    TooManyUnpaidOrdersError,
    UnavailableProduct,
)
from apps.orders.models import ConfirmationStatus, EarlierCartToken, Order, OrderItem, OrderStatus
from apps.orders.shown import ShownCheckout
from apps.shop.catalog_cache import catalog_stock_changed
from apps.shop.models import Product
from shop_project.transactions import commit_without_waiting, lock_race

logger = logging.getLogger(__name__)

# A checkout that loses a deadlock or a serialization failure is run again, in a fresh
# transaction, this many times in all before the shopper is asked to try again.
CHECKOUT_ATTEMPTS = 3


@dataclass(frozen=True)
class Customer:
    first_name: str
    last_name: str
    email: str
    address: str
    postal_code: str
    city: str


def order_create(
    *,
    quantities: dict[int, int],
    cart_token: uuid.UUID | None,
    customer: Customer,
    shown: ShownCheckout,
    earlier_cart_tokens: Sequence[uuid.UUID] = (),
    coupon_id: int | None = None,
    session_ref: str = "",
    language: str = "",
) -> Order:
    """Place the order for `quantities` ({product id: units}), at today's prices, and take the stock.

    `cart_token` names these contents: a second submission of them returns the order the first
    made. `earlier_cart_tokens` name what the same cart held before; if one of those became an
    order meanwhile, this one is refused (CartAlreadyOrderedError) rather than sell those goods
    twice. `shown` is what the checkout page showed: any difference from the database
    (CheckoutChangedError) places nothing. `coupon_id` is the coupon applied to the cart: the
    order takes one of its uses (apps.coupons.services.coupon_use_take). `session_ref` names the
    shopper's session: an e-mail address or a session holding SHOP_MAX_UNPAID_ORDERS unpaid
    orders is refused (TooManyUnpaidOrdersError). `language` is the one the shopper saw the shop
    in (a code of settings.LANGUAGES; anything else is the default): the order's e-mails and
    invoice are written in it.

    One transaction: the products' rows are locked in id order (so that concurrent checkouts
    queue instead of overselling), everything is checked, the order and its items are written
    and the stock is taken with conditional UPDATEs. Nothing is written if any of that fails.
    Losing a deadlock or a serialization failure runs it again, CHECKOUT_ATTEMPTS times in all.
    """
    if not quantities:
        raise EmptyCartError()
    # Inside a caller's transaction a retry could not start afresh: one attempt only.
    attempts = 1 if transaction.get_connection().in_atomic_block else CHECKOUT_ATTEMPTS
    for attempt in range(1, attempts + 1):
        try:
            with transaction.atomic():
                return _place_order(
                    quantities=quantities, cart_token=cart_token, customer=customer, shown=shown,
                    earlier_cart_tokens=earlier_cart_tokens, coupon_id=coupon_id, session_ref=session_ref,
                    language=order_language(language),
                )
        except IntegrityError:
            # The cart token is the only unique value an order writes, and its constraint is
            # the last guard: should a concurrent submission of this cart get past the check in
            # _place_order (a database without row locks), the shopper gets the order it made.
            order = Order.objects.filter(cart_token=cart_token).first() if cart_token else None
            if order is None:
                raise
            return order
        except OperationalError as error:
            race = lock_race(error)
            if race is None:
                raise
            if attempt == attempts:
                logger.warning("checkout lost a %s %d times; the shopper is asked to retry", race, attempt)
                raise CheckoutBusyError(attempts=attempt) from error
            logger.warning("checkout lost a %s (attempt %d of %d); trying again", race, attempt, attempts)
            # A short pause lets the winner commit before this checkout queues for its locks again.
            time.sleep(0.05 * attempt)
    raise AssertionError("unreachable")  # pragma: no cover


def _place_order(
    *, quantities: dict[int, int], cart_token, customer: Customer, shown: ShownCheckout,
    earlier_cart_tokens: Sequence[uuid.UUID], coupon_id: int | None = None, session_ref: str = "",
    language: str,
) -> Order:
    products = list(Product.objects.select_for_update().filter(id__in=quantities).order_by("id"))
    # Holding the locks, a concurrent checkout of this cart has either committed its order or
    # not started: if it has, that order is the answer (its stock is already taken).
    tokens = [token for token in (cart_token, *earlier_cart_tokens) if token]
    # An earlier state of the cart that became an order meanwhile means those goods are sold;
    # so does this state when a later one, grown from it, became an order (EarlierCartToken).
    placed = dict(Order.objects.filter(cart_token__in=tokens).values_list("cart_token", "id"))
    if cart_token in placed:
        return Order.objects.get(id=placed[cart_token])
    placed.update(EarlierCartToken.objects.filter(token__in=tokens).values_list("token", "order_id"))
    if placed:
        consumed_token, order_id = next(iter(placed.items()))
        raise CartAlreadyOrderedError(order_id=order_id, cart_token=consumed_token)

    found = {product.id: product for product in products}
    unavailable = [UnavailableProduct(p.id, p.name) for p in products if not p.available] + [
        UnavailableProduct(product_id, None) for product_id in quantities if product_id not in found
    ]
    if unavailable:
        raise ProductsUnavailableError(unavailable)
    changes = _changes_since_shown(shown=shown, quantities=quantities, products=products)
    if changes:
        raise CheckoutChangedError(changes)
    shortages = [
        Shortage(p.id, p.name, available=p.stock, wanted=quantities[p.id])
        for p in products if p.stock < quantities[p.id]
    ]
    if shortages:
        raise OutOfStockError(shortages)
    # Its row locked after the products', as stock is taken: max_uses holds however many race.
    coupon = coupon_use_take(coupon_id=coupon_id, shown=shown.coupon)
    subtotal = sum((product.price * quantities[product.id] for product in products), Decimal(0))
    if order_totals(subtotal, coupon.discount if coupon else 0).total <= 0:
        raise NothingToChargeError()  # rolls the coupon's use back with the rest

    _unpaid_orders_within_cap(email=customer.email, session_ref=session_ref)
    order = Order.objects.create(
        cart_token=cart_token, session_ref=session_ref, coupon=coupon, language=language,
        discount=coupon.discount if coupon else 0, coupon_use_held=coupon is not None, **customer.__dict__,
        payment_deadline=timezone.now() + timedelta(minutes=settings.SHOP_PAYMENT_TIMEOUT_MINUTES),
    )
    EarlierCartToken.objects.bulk_create(
        (EarlierCartToken(token=token, order=order) for token in earlier_cart_tokens if token),
        ignore_conflicts=True,  # a token another order recorded already stays that order's
    )
    OrderItem.objects.bulk_create(
        OrderItem(order=order, product=product, price=product.price, quantity=quantities[product.id])
        for product in products
    )
    _stock_take(products, quantities)
    # Their product pages say how many are left (no other page does); queryset updates send no
    # signal to say so.
    catalog_stock_changed(product.id for product in products)
    # Published only once the order is committed, so no worker can look for it too early.
    transaction.on_commit(lambda: order_confirmation_publish(order_id=order.id))
    return order


def _stock_take(products: list[Product], quantities: dict[int, int]) -> None:
    """Take every line's units from its product's stock, in one UPDATE.

    A difference, never an absolute value: whatever else changed a row since it was read (a
    restock saved by staff) stays. Each row's condition (enough in stock) is the last guard
    against overselling: a line it stops raises OutOfStockError, which rolls the order back.
    Written out: the ORM took longer to build this statement (or one per line) than the database
    took to run it, in every checkout.
    """
    ids = [product.id for product in products]
    units = [(product_id, quantities[product_id]) for product_id in ids]
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {connection.ops.quote_name(Product._meta.db_table)}"
            f" SET stock = stock - CASE id {' '.join(['WHEN %s THEN %s'] * len(units))} END"
            f" WHERE {' OR '.join(['(id = %s AND stock >= %s)'] * len(units))}",
            [value for line in units for value in line] * 2,
        )
        taken = cursor.rowcount
    if taken == len(products):
        return
    available = dict(Product.objects.filter(id__in=ids).values_list("id", "stock"))
    raise OutOfStockError([
        Shortage(p.id, p.name, available.get(p.id, 0), quantities[p.id])
        for p in products if available.get(p.id, 0) < quantities[p.id]
    ])


def order_language(language: str) -> str:
    """`language` as one of settings.LANGUAGES ("ko-kr" is "ko"); the default for anything else."""
    try:
        return translation.get_supported_language_variant(language or settings.LANGUAGE_CODE)
    except LookupError:
        return settings.LANGUAGE_CODE


def _unpaid_orders_within_cap(*, email: str, session_ref: str) -> None:
    """Refuse a new order when the address (any case) or the session holds the maximum of open
    unpaid orders. Two checkouts of one address at once queue on a transaction-scoped lock of
    that address (and of the session) so that the second counts the first's order: without it
    both would count below the cap and both place. Only orders with a payment deadline count:
    those from before payments existed are not open, and never expire.

    Two statements: the locks, then the counts. Not one: a statement reads the snapshot of its
    start, which would be taken before its locks were granted and miss the order they waited for.
    """
    email = email.strip()
    keys = [f"email:{email.upper()}"] + ([f"session:{session_ref}"] if session_ref else [])
    if connection.vendor == "postgresql":
        # One order for everyone (sorted keys, taken left to right): no deadlock between two checkouts.
        lock_ids = [int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "big", signed=True)
                    for key in sorted(keys)]
        with connection.cursor() as cursor:
            cursor.execute("SELECT " + ", ".join(["pg_advisory_xact_lock(%s)"] * len(lock_ids)), lock_ids)
    limit = settings.SHOP_MAX_UNPAID_ORDERS
    # At most 2 x limit - 1 of them are read, whatever an address has piled up: if both counts
    # are under the limit, that is all of them; if that many are read, one count reaches it.
    # Written out, as _stock_take is; the session's condition is false when there is none.
    email_held, session_held = "UPPER(email) = UPPER(%s)", "(%s <> '' AND session_ref = %s)"
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {email_held}, {session_held} FROM {connection.ops.quote_name(Order._meta.db_table)}"
            f" WHERE ({email_held} OR {session_held}) AND status = %s AND payment_deadline IS NOT NULL"
            " LIMIT %s",
            [email, session_ref, session_ref] * 2 + [OrderStatus.AWAITING_PAYMENT, 2 * limit - 1],
        )
        held = cursor.fetchall()
    if any(sum(map(bool, counted)) >= limit for counted in zip(*held, strict=True)):
        raise TooManyUnpaidOrdersError(limit)


def _changes_since_shown(
    *, shown: ShownCheckout, quantities: dict[int, int], products: list[Product]
) -> list[Change]:
    shown_lines = {line.product_id: line for line in shown.lines}
    changes: list[Change] = []
    for product in products:
        line = shown_lines.get(product.id)
        wanted = quantities[product.id]
        if line is None:
            changes.append(LineAdded(product.id, product.name, wanted))
            continue
        if line.quantity != wanted:
            changes.append(QuantityChanged(product.id, product.name, shown=line.quantity, now=wanted))
        if line.price != product.price:
            changes.append(PriceChanged(product.id, product.name, shown=line.price, now=product.price))
    changes.extend(
        LineRemoved(line.product_id, line.name) for line in shown.lines if line.product_id not in quantities
    )
    return changes


# Confirmation e-mail ------------------------------------------------------------------------
#
# At least once: checkout publishes, the sweep publishes again what no broker confirmed and what
# was queued more than a lease ago, and a delivery that finds another worker's claim hands itself
# on to the end of the lease. One e-mail: a conditional UPDATE claims the send, and the claim is
# marked sent right after the mail server accepts. The duplicates left, both no sooner than the
# lease: a worker killed (or the UPDATE failing) between the acceptance and the UPDATE, and a send
# that failed without saying whether the server took the message (README, "The confirmation
# e-mail").
#
# The same machinery sends every e-mail an order gets exactly once (the confirmation here, the
# PDF invoice in apps.payment.invoices): each is an OnceEmail naming its fields on Order.

# Publishing happens inside the checkout request: a broker that is down may cost it this much
# and no more (with CELERY_BROKER_CONNECTION_TIMEOUT per attempt); the sweep publishes later.
PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0.1, "interval_step": 0.1, "interval_max": 0.2}
# How long a publish waits for RabbitMQ's publisher confirm (AMQP_TRANSPORT_OPTIONS).
PUBLISH_CONFIRM_TIMEOUT_SECONDS = 1.0


@dataclass(frozen=True)
class OnceEmail:
    """An e-mail an order gets once, and its fields on Order: `<name>_status` (ConfirmationStatus),
    `_claimed_at`, `_queued_at`, `_sent_at`, `_attempts` and `_error`."""

    name: str  # "confirmation": the fields' prefix, and the e-mail's name in logs and errors
    task: Callable[[], Any]  # the Celery task that sends it (imported when first published)
    message: Callable[[Order], EmailMessage]  # built from the order with its items prefetched
    # Only orders matching this may have it sent (the invoice: paid ones), and only once older
    # than the sweep's minimum age by this field.
    sendable: Q = field(default_factory=Q)
    due_field: str = "created"

    def _update(self, order_id: int, status: str, **fields) -> None:
        Order.objects.filter(id=order_id).update(
            **{f"{self.name}_status": status},
            **{f"{self.name}_{name}": value for name, value in fields.items()},
        )


CONFIRMATION = OnceEmail(
    name="confirmation",
    # Imported when used: the tasks module imports this one.
    task=lambda: import_module("apps.orders.tasks").order_created,
    message=lambda order: order_confirmation_message(order=order),
)


def confirmation_claim_lease() -> timedelta:
    """How long a claim holds before another worker may take it (SHOP_CONFIRMATION_LEASE_SECONDS)."""
    return timedelta(seconds=settings.SHOP_CONFIRMATION_LEASE_SECONDS)


def _claimable(now: datetime, email: OnceEmail = CONFIRMATION) -> Q:
    """E-mails a worker may claim at `now`: not sent, not given up, no live claim."""
    status, claimed_at = f"{email.name}_status", f"{email.name}_claimed_at"
    return Q(**{f"{status}__in": [ConfirmationStatus.PENDING, ConfirmationStatus.QUEUED]}) | Q(
        **{status: ConfirmationStatus.SENDING, f"{claimed_at}__lt": now - confirmation_claim_lease()}
    )


def order_confirmation_publish(*, order_id: int) -> bool:
    """Queue the confirmation task; True once the broker confirmed it, and the order is QUEUED.

    RabbitMQ confirms with a publisher confirm, SQS with SendMessage's answer. Anything else (a
    broker that is down, a dead connection, no confirm in time) returns False and leaves the
    order as it was, for the sweep.
    """
    return once_email_publish(CONFIRMATION, order_id=order_id)


def once_email_publish(email: OnceEmail, *, order_id: int) -> bool:
    """Queue `email`'s task for the order: order_confirmation_publish, for any OnceEmail."""
    try:
        email.task().apply_async(
            args=[order_id], retry=True, retry_policy=PUBLISH_RETRY_POLICY,
            confirm_timeout=PUBLISH_CONFIRM_TIMEOUT_SECONDS,
        )
    except Exception:
        # Whatever the transport raises, the order is kept; the sweep publishes it later.
        logger.warning("%s of order %s not queued: the broker did not confirm it", email.name, order_id,
                       exc_info=True)
        return False
    status = f"{email.name}_status"
    unsent = [ConfirmationStatus.PENDING, ConfirmationStatus.QUEUED, ConfirmationStatus.SENDING]
    # Lost in a database crash, this mark only makes the sweep publish the e-mail again (the
    # claim sends one): its commit need not wait for the disk, and the checkout for it.
    with commit_without_waiting():
        Order.objects.filter(id=order_id, **{f"{status}__in": unsent}).update(**{
            status: Case(
                When(**{status: ConfirmationStatus.PENDING}, then=Value(ConfirmationStatus.QUEUED)),
                default=F(status),
            ),
            f"{email.name}_queued_at": timezone.now(),
        })
    return True


def order_confirmation_send(*, order_id: int) -> bool:
    """Send the order's confirmation unless it is sent or being sent; True if this call sent it.

    The send is first claimed with one conditional UPDATE, which only one worker can win. A live
    claim of another worker raises ConfirmationClaimedError (that worker may be dead, and this
    delivery may be the only one left for the order); a given-up one ConfirmationGivenUpError.
    A failed send raises ConfirmationNotSentError with the claim released when the mail server
    cannot have taken the e-mail, else ConfirmationOutcomeUnknownError with the claim kept.
    """
    return once_email_send(CONFIRMATION, order_id=order_id)


def once_email_send(email: OnceEmail, *, order_id: int) -> bool:
    """Send `email` for the order, once: order_confirmation_send, for any OnceEmail."""
    now = timezone.now()
    claimed = Order.objects.filter(_claimable(now, email), email.sendable, id=order_id).update(**{
        f"{email.name}_status": ConfirmationStatus.SENDING,
        f"{email.name}_claimed_at": now,
        f"{email.name}_attempts": F(f"{email.name}_attempts") + 1,
    })
    if not claimed:
        _not_claimed(order_id, email)
        return False
    order = selectors.order_with_items(order_id=order_id)
    message = email.message(order)
    mail_connection = get_connection()
    try:
        # Connecting, the greeting and the login happen before the send, so that none of it, nor
        # the goodbye, stands between the mail server's acceptance and the UPDATE below. Whatever
        # fails here, the message has not left.
        mail_connection.open()
    except Exception as error:
        raise _released(order_id, email, mail_connection, error) from error
    try:
        mail_connection.send_messages([message])
    except Exception as error:
        if _failed_before_acceptance(error):
            raise _released(order_id, email, mail_connection, error) from error
        # The server may have the e-mail: the claim stays, and its lease decides.
        lease_ends_at = now + confirmation_claim_lease()
        Order.objects.filter(id=order_id).update(**{f"{email.name}_error": _describe(error)})
        logger.warning("order %s: the %s's send failed after the mail server may have taken "
                       "it (%s); the claim is kept until %s", order_id, email.name, _describe(error),
                       lease_ends_at.isoformat())
        _mail_connection_close(mail_connection)
        raise ConfirmationOutcomeUnknownError(
            order_id=order_id, lease_ends_at=lease_ends_at, error=_describe(error)
        ) from error
    # Nothing between the acceptance and this: a worker killed here leaves a duplicate behind.
    email._update(order_id, ConfirmationStatus.SENT, sent_at=timezone.now(), error="")
    _mail_connection_close(mail_connection)
    return True


def _released(order_id: int, email: OnceEmail, mail_connection, error: Exception) -> ConfirmationNotSentError:
    """The e-mail was not taken: the claim is given back for the retry; the error to raise."""
    email._update(order_id, ConfirmationStatus.QUEUED, error=_describe(error))
    _mail_connection_close(mail_connection)
    return ConfirmationNotSentError(_describe(error))


def _failed_before_acceptance(error: BaseException) -> bool:
    """True when the send's failure shows that the mail server cannot have taken the e-mail.

    The one place that decides between releasing a claim and keeping it. Releasing after the
    server took the message sends a second e-mail with the retry 30 s later; keeping it after
    a failure that came first only delays the e-mail to the lease's end. So only what is known
    to come first releases: a refusal in the server's own words, a connection never made, an
    SMTP conversation broken before DATA. A read timeout after the message went out, the soft
    time limit mid-send, and whatever a backend raises that says no more keep the claim.
    """
    if isinstance(error, smtplib.SMTPResponseException):
        return True  # an error reply: to the greeting, login, MAIL, RCPT, DATA or the message
    if isinstance(error, (smtplib.SMTPRecipientsRefused, smtplib.SMTPNotSupportedError,
                          ConnectionRefusedError, socket.gaierror)):
        return True
    if isinstance(error, OSError) and _raised_in_smtp_before_data(error):
        return True  # a timeout or a dropped connection during EHLO, MAIL or RCPT
    # botocore (SES) raised it only if it is loaded; not importing it keeps it off other starts.
    botocore = sys.modules.get("botocore.exceptions")
    if botocore is not None:
        if isinstance(error, (botocore.EndpointConnectionError, botocore.ConnectTimeoutError)):
            return True  # no connection to SES (ReadTimeoutError, after the request, is neither)
        if isinstance(error, botocore.ClientError):
            # SES answered with an error; a 5xx may come from a send it went through with.
            return error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 500) < 500
    return False


def _raised_in_smtp_before_data(error: BaseException) -> bool:
    """Whether smtplib raised `error`, and before its DATA command: the message had not left."""
    smtp_steps = [frame.f_code.co_name for frame, _ in traceback.walk_tb(error.__traceback__)
                  if frame.f_globals.get("__name__") == smtplib.__name__]
    return bool(smtp_steps) and "data" not in smtp_steps


def _not_claimed(order_id: int, email: OnceEmail) -> None:
    """Why the claim found nothing: raise for a live claim or a given-up order; sent is fine."""
    row = Order.objects.filter(id=order_id).values_list(f"{email.name}_status", f"{email.name}_claimed_at")
    status, claimed_at = row.first() or (None, None)
    if status == ConfirmationStatus.FAILED:
        raise ConfirmationGivenUpError(f"the {email.name} of order {order_id} failed for good")
    if status == ConfirmationStatus.SENDING:
        lease_ends_at = claimed_at + confirmation_claim_lease()
        raise ConfirmationClaimedError(order_id=order_id, lease_ends_at=lease_ends_at)
    unqualified = email.sendable and not Order.objects.filter(email.sendable, id=order_id).exists()
    if status is not None and unqualified:
        logger.warning("order %s: no %s sent, the order does not qualify for one", order_id, email.name)
        return
    logger.info("order %s: %s already sent, or no such order", order_id, email.name)


def _mail_connection_close(mail_connection) -> None:
    try:
        mail_connection.close()
    except Exception:
        # The e-mail's fate is decided by now; a goodbye that fails changes nothing.
        logger.warning("closing the mail connection failed", exc_info=True)


def once_email_give_up(email: OnceEmail, *, order_id: int, error: str) -> None:
    """Retries are exhausted: show the failure on the order; the message goes to the DLQ."""
    email._update(order_id, ConfirmationStatus.FAILED, error=error)


def order_confirmations_resend(*, order_ids: list[int]) -> int:
    """Staff ask again for confirmations that failed; returns how many were queued."""
    failed = Order.objects.filter(id__in=order_ids, confirmation_status=ConfirmationStatus.FAILED)
    to_resend = list(failed.values_list("id", flat=True))
    Order.objects.filter(id__in=to_resend).update(
        confirmation_status=ConfirmationStatus.PENDING, confirmation_queued_at=None
    )
    return sum(order_confirmation_publish(order_id=order_id) for order_id in to_resend)


def confirmations_publish_overdue(*, min_age_seconds: int) -> int:
    """Publish again the confirmations of orders older than min_age_seconds not sent yet.

    Catches what checkout could not queue (broker down) and what a lost message or a vanished
    worker left behind, but not what a broker confirmed less than a lease ago: a worker outage
    gets one more message per order per lease, not one per sweep. Returns how many were published.
    """
    return once_emails_publish_overdue(CONFIRMATION, min_age_seconds=min_age_seconds)


def once_emails_publish_overdue(email: OnceEmail, *, min_age_seconds: int) -> int:
    """confirmations_publish_overdue, for any OnceEmail (age counted from its due_field)."""
    now = timezone.now()
    lease = confirmation_claim_lease()
    queued_at = f"{email.name}_queued_at"
    # A list, read once: updating the rows while iterating over them could meet a row twice.
    overdue = list(
        Order.objects.filter(_claimable(now, email), email.sendable,
                             **{f"{email.due_field}__lt": now - timedelta(seconds=min_age_seconds)})
        .filter(Q(**{f"{queued_at}__isnull": True}) | Q(**{f"{queued_at}__lt": now - lease}))
        .values_list("id", flat=True)
    )
    published = 0
    for order_id in overdue:
        if not once_email_publish(email, order_id=order_id):
            break  # The broker is away: the next sweep tries again, rather than every order now.
        published += 1
    return published


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"[:500]
