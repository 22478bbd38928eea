"""The invoice e-mail: due when the order is paid, published on commit, sent once by payment_completed.

The claim, lease and retries are the confirmation's (apps/orders/tests/test_order_confirmation.py
tests them in depth); these tests show the invoice gets them, and what only it has: the PDF
attached, and no invoice for an order that is not paid. tests/test_brokers.py runs the task in a
real worker.
"""

import io
from datetime import timedelta

import pytest
from django.core import mail
from django.db import transaction
from django.utils import timezone
from pypdf import PdfReader

from apps.orders import exceptions
from apps.orders.models import ConfirmationStatus, Order, OrderStatus
from apps.orders.tests.factories import OrderFactory, OrderItemFactory
from apps.orders.tests.test_order_confirmation import (  # noqa: F401 - fixtures
    FLAKY_MAIL_SERVER,
    UNREACHABLE_MAIL_SERVER,
    FlakyMailServer,
    broker_down,
    published,
)
from apps.payment import invoices
from apps.payment.signals import order_paid
from apps.payment.tasks import invoices_sweep, payment_completed
from apps.payment.tests.conftest import KOREAN_CUSTOMER
from tests.support.postgres import deliver_together

SWEEP_MIN_AGE = 300


def invoice_tasks(published) -> list[list]:  # noqa: F811 - the fixture's value
    return [message["args"] for message in published if message["task"] == payment_completed.name]


def invoice_status(order: Order) -> str:
    order.refresh_from_db()
    return order.invoice_status


def mark_paid(order: Order) -> None:
    """What the webhook's state machine does: the order paid and order_paid, in one transaction."""
    with transaction.atomic():
        Order.objects.filter(id=order.id).update(status=OrderStatus.PAID, paid=True)
        order_paid.send(sender=Order, order_id=order.id)


@pytest.mark.django_db
class TestPaymentCompletedTask:
    def test_paid_order_gets_one_email_with_the_pdf_invoice_attached(self, paid_order, mailoutbox):
        assert payment_completed.apply(args=[paid_order.id]).successful()

        [message] = mailoutbox
        assert message.to == [KOREAN_CUSTOMER["email"]]
        assert message.subject == f"My Shop - Invoice no. {paid_order.id}"
        assert "Total paid: 62.30 USD" in message.body
        [(filename, content, mimetype)] = message.attachments
        assert (filename, mimetype) == (f"invoice_{paid_order.id}.pdf", "application/pdf")
        assert "민준 김" in PdfReader(io.BytesIO(content)).pages[0].extract_text()
        paid_order.refresh_from_db()
        assert (paid_order.invoice_status, paid_order.invoice_attempts) == (ConfirmationStatus.SENT, 1)
        assert paid_order.confirmation_status == ConfirmationStatus.SENT  # the other e-mail, untouched

    def test_task_delivered_twice_sends_one_email(self, paid_order, mailoutbox):
        payment_completed.apply(args=[paid_order.id])
        payment_completed.apply(args=[paid_order.id])

        assert len(mailoutbox) == 1
        paid_order.refresh_from_db()
        assert (paid_order.invoice_status, paid_order.invoice_attempts) == (ConfirmationStatus.SENT, 1)

    def test_failed_send_releases_the_claim_and_the_retry_sends_it(self, paid_order, settings):
        # The mail server refuses the first send: the claim is given back (else the retry could
        # not claim it), and the retry, run at once by an eager apply, sends the one e-mail.
        settings.EMAIL_BACKEND = FLAKY_MAIL_SERVER
        FlakyMailServer.failures_left = 1

        assert payment_completed.apply(args=[paid_order.id]).successful()

        assert [m.subject for m in mail.outbox] == [f"My Shop - Invoice no. {paid_order.id}"]
        paid_order.refresh_from_db()
        assert (paid_order.invoice_status, paid_order.invoice_attempts) == (ConfirmationStatus.SENT, 2)

    def test_failed_send_leaves_the_invoice_queued_with_its_error(self, paid_order, settings):
        settings.EMAIL_BACKEND = UNREACHABLE_MAIL_SERVER

        with pytest.raises(exceptions.ConfirmationNotSentError):
            invoices.invoice_send(order_id=paid_order.id)

        paid_order.refresh_from_db()
        assert paid_order.invoice_status == ConfirmationStatus.QUEUED  # released: a retry may claim it
        assert paid_order.invoice_error == "ConnectionRefusedError: mail server unreachable"

    def test_every_attempt_failing_ends_failed(self, paid_order, settings):
        settings.EMAIL_BACKEND = UNREACHABLE_MAIL_SERVER

        assert payment_completed.apply(args=[paid_order.id]).failed()

        assert invoice_status(paid_order) == ConfirmationStatus.FAILED
        with pytest.raises(exceptions.ConfirmationGivenUpError, match="the invoice of order"):
            invoices.invoice_send(order_id=paid_order.id)

    @pytest.mark.parametrize(
        "status", [OrderStatus.AWAITING_PAYMENT, OrderStatus.CANCELLED, OrderStatus.REFUNDED]
    )
    def test_order_not_paid_gets_no_invoice_and_says_so(self, paid_order, mailoutbox, caplog, status):
        Order.objects.filter(id=paid_order.id).update(status=status, paid=status == OrderStatus.REFUNDED)

        assert payment_completed.apply(args=[paid_order.id]).successful()

        assert mailoutbox == []
        assert invoice_status(paid_order) == ConfirmationStatus.PENDING
        assert f"order {paid_order.id}: no invoice sent, the order does not qualify" in caplog.text

    def test_unknown_order_sends_nothing(self, db, mailoutbox):
        assert invoices.invoice_send(order_id=987654) is False
        assert mailoutbox == []


@pytest.mark.django_db
class TestInvoiceDue:
    def test_order_paid_publishes_the_invoice_once_the_payment_commits(
        self, paid_order, published, django_capture_on_commit_callbacks  # noqa: F811
    ):
        with django_capture_on_commit_callbacks() as callbacks:
            mark_paid(paid_order)
            assert invoice_tasks(published) == []
            paid_order.refresh_from_db()
            assert paid_order.invoice_due_at is not None  # written with the payment

        for callback in callbacks:
            callback()
        assert invoice_tasks(published) == [[paid_order.id]]
        assert invoice_status(paid_order) == ConfirmationStatus.QUEUED

    def test_a_payment_rolled_back_makes_no_invoice_due(self, paid_order, published):  # noqa: F811
        with pytest.raises(RuntimeError), transaction.atomic():
            order_paid.send(sender=Order, order_id=paid_order.id)
            raise RuntimeError("the webhook's transaction failed")

        paid_order.refresh_from_db()
        assert paid_order.invoice_due_at is None
        assert invoice_tasks(published) == []

    def test_broker_down_leaves_the_invoice_to_the_sweep(
        self, paid_order, published, broker_down, django_capture_on_commit_callbacks  # noqa: F811
    ):
        with django_capture_on_commit_callbacks(execute=True):
            mark_paid(paid_order)
        assert invoice_status(paid_order) == ConfirmationStatus.PENDING

    def test_sweep_publishes_invoices_due_and_not_sent(self, paid_order, published):  # noqa: F811
        long_ago = timezone.now() - timedelta(seconds=SWEEP_MIN_AGE + 1)
        Order.objects.filter(id=paid_order.id).update(invoice_due_at=long_ago)
        # Not due (never paid), due too recently, sent, refunded since: none of them.
        OrderFactory(invoice_due_at=None)
        OrderFactory(status=OrderStatus.REFUNDED, paid=True, invoice_due_at=long_ago)
        OrderFactory(status=OrderStatus.PAID, paid=True, invoice_due_at=timezone.now())
        OrderFactory(status=OrderStatus.PAID, paid=True, invoice_due_at=long_ago,
                     invoice_status=ConfirmationStatus.SENT)

        assert invoices_sweep(min_age_seconds=SWEEP_MIN_AGE) == 1
        assert invoice_tasks(published) == [[paid_order.id]]
        # Queued a moment ago: the next sweeps leave it to the broker until a lease has passed.
        assert invoices_sweep(min_age_seconds=SWEEP_MIN_AGE) == 0


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
class TestTwoWorkersOneInvoice:
    ORDERS = 5

    def test_same_task_run_at_the_same_moment_sends_one_invoice_per_order(self):
        # Each thread stands for a worker with its own connection; the barrier puts both
        # deliveries of one order in flight together (rendering the PDF leaves a wide window).
        orders = [
            OrderItemFactory(order=OrderFactory(status=OrderStatus.PAID, paid=True)).order
            for _ in range(self.ORDERS)
        ]
        deliver_together(payment_completed, [order.id for order in orders])

        assert sorted(m.subject for m in mail.outbox) == sorted(
            f"My Shop - Invoice no. {order.id}" for order in orders
        )
        assert set(Order.objects.values_list("invoice_status", "invoice_attempts")) == {
            (ConfirmationStatus.SENT, 1)
        }

