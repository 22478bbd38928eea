"""Orders placed at checkout, with one item per cart line at the price paid."""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models.functions import Upper
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from apps.coupons.discount import Totals, order_totals
from apps.shop.models import Product


class ConfirmationStatus(models.TextChoices):
    """Where an order's confirmation e-mail stands."""

    PENDING = "pending", "Not queued yet"  # the broker could not be reached; the sweep retries
    QUEUED = "queued", "Queued"
    SENDING = "sending", "Sending"  # claimed by one worker; no other may send it
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"  # retries exhausted; on SQS the message ends in the dead-letter queue


class OrderStatus(models.TextChoices):
    """Where an order stands: awaiting payment -> paid -> shipped, or cancelled, or refunded."""

    AWAITING_PAYMENT = "awaiting_payment", _("Awaiting payment")
    PAID = "paid", _("Paid")
    SHIPPED = "shipped", _("Shipped")
    CANCELLED = "cancelled", _("Cancelled")  # not paid in time, or by staff: its stock is back
    REFUNDED = "refunded", _("Refunded")


class Order(models.Model):
    first_name = models.CharField(max_length=50)
    last_name = models.CharField(max_length=50)
    email = models.EmailField()
    address = models.CharField(max_length=250)
    postal_code = models.CharField(max_length=20)
    city = models.CharField(max_length=100)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)
    paid = models.BooleanField(default=False)
    status = models.CharField(
        max_length=20, choices=OrderStatus.choices, default=OrderStatus.AWAITING_PAYMENT, db_index=True
    )
    # The order's one PaymentIntent at Stripe ("pi_…"), created on the payment page.
    stripe_id = models.CharField(max_length=255, blank=True)
    # Set at checkout: the expiry sweep cancels the order if it is still unpaid then. Orders
    # placed before payments existed have none, and the sweep leaves them alone.
    payment_deadline = models.DateTimeField(null=True, blank=True)
    # Which browser session placed the order (a keyed hash of its session key, never the key):
    # the cap on open unpaid orders per session counts by it.
    session_ref = models.CharField(max_length=64, blank=True, editable=False)
    # The language the order was placed in: every e-mail it gets later, and its invoice, are
    # written in it, whatever language the worker or the staff member sending them uses.
    language = models.CharField(max_length=7, choices=settings.LANGUAGES, default=settings.LANGUAGE_CODE)
    paid_at = models.DateTimeField(null=True, blank=True)
    # The last failed attempt to pay (Stripe's code and message); the order stays payable.
    payment_failure_code = models.CharField(max_length=100, blank=True)
    payment_failure_message = models.CharField(max_length=500, blank=True)
    stripe_refund_id = models.CharField(max_length=255, blank=True)
    refunded_at = models.DateTimeField(null=True, blank=True)
    # Something staff must look at: a payment that did not match the order, a partial refund.
    needs_attention = models.BooleanField(default=False, db_index=True)
    attention_note = models.CharField(max_length=500, blank=True)
    # The session cart this order was made from: a resubmitted checkout finds the same order
    # here instead of creating a second one.
    cart_token = models.UUIDField(unique=True, null=True, blank=True, editable=False)
    confirmation_status = models.CharField(
        max_length=10, choices=ConfirmationStatus.choices, default=ConfirmationStatus.PENDING
    )
    confirmation_claimed_at = models.DateTimeField(null=True, blank=True)
    # When the broker last confirmed a message for this confirmation: the sweep publishes an
    # order again only once a lease has passed since, however many sweeps a worker outage lasts.
    confirmation_queued_at = models.DateTimeField(null=True, blank=True)
    confirmation_sent_at = models.DateTimeField(null=True, blank=True)
    confirmation_attempts = models.PositiveSmallIntegerField(default=0)
    confirmation_error = models.CharField(max_length=500, blank=True)
    # The PDF invoice e-mailed once the order is paid (apps.payment.invoices), claimed like the
    # confirmation. invoice_due_at: when the order became paid, the sweep's clock.
    invoice_status = models.CharField(
        max_length=10, choices=ConfirmationStatus.choices, default=ConfirmationStatus.PENDING
    )
    invoice_due_at = models.DateTimeField(null=True, blank=True)
    invoice_claimed_at = models.DateTimeField(null=True, blank=True)
    invoice_queued_at = models.DateTimeField(null=True, blank=True)
    invoice_sent_at = models.DateTimeField(null=True, blank=True)
    invoice_attempts = models.PositiveSmallIntegerField(default=0)
    invoice_error = models.CharField(max_length=500, blank=True)
    # The coupon used and its percent at the time of ordering (the coupon may change later).
    # PROTECT: an order keeps saying which code took money off it; staff deactivate a used
    # coupon rather than delete it.
    coupon = models.ForeignKey(
        "coupons.Coupon", related_name="orders", null=True, blank=True, on_delete=models.PROTECT
    )
    discount = models.PositiveSmallIntegerField(
        default=0, validators=[MinValueValidator(0), MaxValueValidator(100)], help_text="Percent off."
    )
    # The order holds one of its coupon's uses; cleared (under the row lock of a conditional
    # UPDATE) when a cancellation gives the use back, so that it is given back once.
    coupon_use_held = models.BooleanField(default=False, editable=False)

    class Meta:
        ordering = ["-created"]
        indexes = [
            models.Index(fields=["-created"]),
            # The sweep looks for old orders whose confirmation is not sent yet.
            models.Index(
                fields=["created"],
                name="order_confirmation_unsent",
                condition=~models.Q(confirmation_status__in=["sent", "failed"]),
            ),
            # The invoice sweep looks for paid orders whose invoice is not sent yet.
            models.Index(
                fields=["invoice_due_at"],
                name="order_invoice_unsent",
                condition=~models.Q(invoice_status__in=["sent", "failed"]),
            ),
            # Checkout counts an address's and a session's open unpaid orders (the cap), and the
            # expiry sweep looks for the unpaid ones past their deadline.
            models.Index(Upper("email"), name="order_unpaid_email",
                         condition=models.Q(status="awaiting_payment")),
            models.Index(fields=["session_ref"], name="order_unpaid_session",
                         condition=models.Q(status="awaiting_payment")),
            models.Index(fields=["payment_deadline"], name="order_unpaid_deadline",
                         condition=models.Q(status="awaiting_payment")),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(discount__gte=0, discount__lte=100), name="order_discount_0_to_100"
            ),
        ]

    def __str__(self):
        return f"Order {self.id}"

    def get_totals(self, subtotal: Decimal | None = None) -> Totals:
        """Subtotal, discount and total (apps.coupons.discount); `subtotal` if the caller has it
        (a database sum), else the items' (prefetch them)."""
        if subtotal is None:
            subtotal = sum((item.get_cost() for item in self.items.all()), Decimal("0.00"))
        return order_totals(subtotal, self.discount)

    def get_subtotal(self) -> Decimal:
        return self.get_totals().subtotal

    def get_discount(self) -> Decimal:
        return self.get_totals().discount

    def get_total_cost(self) -> Decimal:
        """What is charged: the items' total less the coupon's discount."""
        return self.get_totals().total

    def get_admin_detail_url(self):
        return reverse("admin:orders_order_detail", args=[self.id])


class EarlierCartToken(models.Model):
    """A state the cart held before the one an order was made from (Order.cart_token).

    A checkout of that earlier state still running in another tab would sell the same goods
    again: checkout refuses a state that is an order's cart token or one of these.
    """

    token = models.UUIDField(unique=True)
    order = models.ForeignKey(Order, related_name="earlier_cart_tokens", on_delete=models.CASCADE)

    def __str__(self):
        return str(self.token)


class OrderItem(models.Model):
    order = models.ForeignKey(Order, related_name="items", on_delete=models.CASCADE)
    # PROTECT, not the seed's CASCADE: deleting a product must not rewrite past orders.
    product = models.ForeignKey(Product, related_name="order_items", on_delete=models.PROTECT)
    price = models.DecimalField(max_digits=10, decimal_places=2)
    quantity = models.PositiveIntegerField(default=1, validators=[MinValueValidator(1)])

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(quantity__gte=1), name="order_item_quantity_positive"),
        ]

    def __str__(self):
        return str(self.id)

    def get_cost(self) -> Decimal:
        return self.price * self.quantity
