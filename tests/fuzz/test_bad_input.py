"""Bad input, generated: the cart, coupons and checkout through the real views, hand-edited sessions,
SQS events.

What must hold whatever comes in: no 5xx and no unhandled exception, no negative stock or
order quantity, and nothing lost (a good cart line, a placed order's items, a good SQS record
beside bad ones). Sized by the Hypothesis profile (tests/fuzz/conftest.py): `ci` by default,
HYPOTHESIS_PROFILE=fuzz for `make fuzz`.

Every example runs inside a savepoint that is rolled back afterwards (`example_rolled_back`),
with a fresh test Client: pytest-django's transaction around the test is not reset between
Hypothesis examples, so this is what keeps the examples apart.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import uuid
from contextlib import contextmanager
from importlib import import_module
from urllib.parse import quote, quote_from_bytes

import pytest
from django.conf import settings
from django.core import mail
from django.db import transaction
from django.db.models import Sum
from django.test import Client
from hypothesis import assume, given, note
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test

import apps.orders.tasks  # noqa: F401 - registers the tasks the worker Lambda runs
from apps.coupons.models import normalize_code
from apps.coupons.session import COUPON_SESSION_KEY
from apps.coupons.tests.factories import CouponFactory
from apps.orders.forms import OrderCreateForm
from apps.orders.models import ConfirmationStatus, Order, OrderItem
from apps.orders.tests.checkout import checkout_form, hidden_fields
from apps.orders.tests.factories import CUSTOMER
from apps.shop.models import Product
from apps.shop.tests.factories import ProductFactory
from shop_project.celery import app as celery_app
from shop_project.lambda_worker import container, handler, messages, sqs, task_run
from tests.fuzz.conftest import examples

MAX_PER_PRODUCT = settings.CART_MAX_QUANTITY_PER_PRODUCT
FIELDS = list(CUSTOMER)

pytestmark = pytest.mark.django_db


# Helpers -------------------------------------------------------------------------------------


@contextmanager
def example_rolled_back():
    """One example's database work, undone afterwards (also when the example fails)."""
    mail.outbox = []
    with transaction.atomic():
        yield
        transaction.set_rollback(True)


def assert_no_negative_stock_or_quantity():
    assert not Product.objects.filter(stock__lt=0).exists()
    assert not OrderItem.objects.filter(quantity__lt=1).exists()
    # An order placed keeps its items: none is ever written without them.
    assert not Order.objects.filter(items__isnull=True).exists()


def session_cart(client: Client) -> dict[int, int]:
    """What the client's session cart holds, {product id: quantity}."""
    stored = client.session.get(settings.CART_SESSION_ID)
    if not stored:
        return {}
    return {int(key): quantity for key, quantity in stored["items"].items()}


def write_session(client: Client, values: dict) -> None:
    """Put values into a new session in the session store, as a hand-edited one, and use it."""
    store = import_module(settings.SESSION_ENGINE).SessionStore()
    for key, value in values.items():
        store[key] = value
    store.save()
    client.cookies[settings.SESSION_COOKIE_NAME] = store.session_key


def ok(response) -> None:
    # The test client re-raises a view's unhandled exception, so reaching here means none.
    assert response.status_code < 500, response.status_code


def quantity_accepted(value) -> int | None:
    """What the cart form makes of a POSTed quantity: a choice from 1 to the limit, or None."""
    if isinstance(value, list):
        value = value[-1] if value else None
    if isinstance(value, str) and value in {str(i) for i in range(1, MAX_PER_PRODUCT + 1)}:
        return int(value)
    return None


def override_accepted(value) -> bool:
    """BooleanField behind a hidden input: "false" and "0" (any case) are False, "" too."""
    if isinstance(value, list):
        value = value[-1] if value else None
    if isinstance(value, str) and value.lower() in ("false", "0"):
        return False
    return bool(value)


def resolved_id(segment: str) -> int | None:
    """The product id `<int:product_id>` makes of a path segment, or None (the URL is a 404)."""
    return int(segment) if re.fullmatch(r"[0-9]+", segment) else None


def form_data(**values) -> dict:
    return {key: value for key, value in values.items() if value is not None}


# Strategies ----------------------------------------------------------------------------------

HUGE_NUMBERS = [str(2**31), str(2**63 - 1), str(2**63), str(2**64), "9" * 40, "1" + "0" * 400]
NEGATIVE_LOOKING = ["-1", "-0", "0", "00", "+1", "1e3", "1.0", " 1", "1 ", "0x10", "١", "１", "Ⅳ", "²"]
INJECTION = [
    "' OR 1=1 --", "\"; DROP TABLE shop_product; --", "<script>alert(1)</script>",
    "{{ settings.SECRET_KEY }}", "{% debug %}", "${7*7}", "=HYPERLINK(\"http://x\")", "+1-1",
    "@SUM(A1)", "\x00", "a\x00b", "\u202eevil\u202c", "\u200f\u200e", "\ufeff", "../../etc/passwd",
    "%00", "%s%s%n", "\r\nSet-Cookie: x=1", "😀" * 30, "İ" * 60,
]

quantity_values = st.one_of(
    st.integers(1, MAX_PER_PRODUCT).map(str),
    st.integers(-(10**30), 10**30).map(str),
    st.sampled_from(HUGE_NUMBERS + NEGATIVE_LOOKING + INJECTION + [""]),
    st.text(max_size=30),
    st.lists(st.integers(-3, 25).map(str), max_size=3),
    st.none(),
)
override_values = st.one_of(
    st.sampled_from(["true", "True", "false", "False", "FALSE", "0", "1", "on", "", "\x00"]),
    st.text(max_size=10),
    st.none(),
)
# Field values for checkout: arbitrary text, long text, injection-looking text, NUL and
# bidirectional marks mixed in, and the seed's good values (so that orders do get placed).
long_text = st.sampled_from([51, 101, 251, 5_000, 100_000]).flatmap(
    lambda n: st.sampled_from(["x", "é", "😀", "\u202e", "\x00"]).map(lambda c: c * n)
)
field_text = st.one_of(
    st.text(max_size=60),
    st.text(alphabet=st.sampled_from(["a", "1", " ", "@", ".", "\x00", "\u202e", "\u200f", "\ufeff",
                                      "é", "\n", "\t", "<", "'"]), max_size=40),
    st.sampled_from(INJECTION),
    long_text,
    st.emails().map(str),
)
customer_values = st.fixed_dictionaries(
    {name: st.one_of(st.just(CUSTOMER[name]), st.just(CUSTOMER[name]), field_text, st.none())
     for name in FIELDS}
)

json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
)
def _json_nested(inner):
    return st.one_of(json_scalars, st.lists(inner, max_size=4),
                     st.dictionaries(st.text(max_size=8), inner, max_size=4))


# JSON values nested up to three deep (st.recursive warns about this shape of extend).
json_values = _json_nested(_json_nested(json_scalars))


# Fixtures ------------------------------------------------------------------------------------


class Catalog:
    def __init__(self):
        self.in_stock = ProductFactory(stock=10_000)
        self.low_stock = ProductFactory(stock=2)
        self.unavailable = ProductFactory(stock=50, available=False)
        gone = ProductFactory()
        self.deleted_id = gone.id
        gone.delete()

    def target_ids(self) -> list[str]:
        ids = [self.in_stock.id, self.low_stock.id, self.unavailable.id, self.deleted_id]
        return [str(i) for i in ids] + [f"00{self.in_stock.id}"]


@pytest.fixture
def catalog(db) -> Catalog:
    return Catalog()


def product_segments(catalog: Catalog):
    return st.one_of(
        st.sampled_from(catalog.target_ids()),
        st.integers(0, 2**70).map(str),
        st.sampled_from(HUGE_NUMBERS + NEGATIVE_LOOKING + INJECTION),
        st.text(max_size=12),
    )


def add(client: Client, segment: str, quantity, override):
    data = form_data(quantity=quantity, override=override)
    return client.post(f"/en/cart/add/{quote(segment, safe='')}/", data)


# 1. Cart adds, updates and removes through the views ------------------------------------------


@hypothesis_settings(max_examples=examples(1.5))
@given(data=st.data())
def test_cart_changes_with_bad_input_answer_without_error_and_lose_no_line(catalog, data):
    segment = data.draw(product_segments(catalog), label="product")
    action = data.draw(st.sampled_from(["add", "remove"]), label="action")
    with example_rolled_back():
        client = Client()
        # A good line first, which no bad request for another product may take away.
        assert add(client, str(catalog.low_stock.id), "3", None).status_code == 302
        expected = {catalog.low_stock.id: 3}
        target = resolved_id(segment)
        if action == "add":
            quantity = data.draw(quantity_values, label="quantity")
            override = data.draw(override_values, label="override")
            response = add(client, segment, quantity, override)
            ok(response)
            wanted = quantity_accepted(quantity)
            if target in (catalog.in_stock.id, catalog.low_stock.id):
                if wanted is None:
                    assert response.status_code == 302  # back to the product, with a message
                else:
                    current = 0 if override_accepted(override) else expected.get(target, 0)
                    expected[target] = min(current + wanted, MAX_PER_PRODUCT)
            else:
                assert response.status_code == 404
        else:
            response = client.post(f"/en/cart/remove/{quote(segment, safe='')}/")
            ok(response)
            if target is None:
                assert response.status_code == 404
            else:
                expected.pop(target, None)
        assert session_cart(client) == expected
        ok(client.get("/en/cart/"))
        assert session_cart(client) == expected
        assert_no_negative_stock_or_quantity()


# 1b. Coupon codes through the apply view -------------------------------------------------------

coupon_codes = st.one_of(
    st.sampled_from(["SAVE10", "save10", "  Save10 ", "\tsave10\n", "OLD", "old", "SAVE10\x00", "SAVE 10",
                     "ＳＡＶＥ10", "save10" + "\u200b", "", " "]),
    field_text,
)
# Raw form bodies: percent-encoded bytes that are not UTF-8, and bytes sent as they are.
raw_code_bodies = st.binary(max_size=40).flatmap(
    lambda raw: st.sampled_from([b"code=" + quote_from_bytes(raw).encode(), b"code=" + raw, raw])
)


@hypothesis_settings(max_examples=examples(0.5))
@given(data=st.data())
def test_coupon_codes_with_bad_input_apply_only_a_usable_coupon_never_a_500(catalog, data):
    raw = data.draw(st.booleans(), label="raw body")
    with example_rolled_back():
        usable = CouponFactory(code="SAVE10")
        CouponFactory(code="OLD", active=False)
        client = Client()
        assert add(client, str(catalog.in_stock.id), "2", None).status_code == 302
        if raw:
            body = data.draw(raw_code_bodies, label="body")
            response = client.post("/en/coupons/apply/", body,
                                   content_type="application/x-www-form-urlencoded")
            applies = None  # whatever Django makes of the bytes: checked through the session below
        else:
            code = data.draw(coupon_codes, label="code")
            response = client.post("/en/coupons/apply/", {"code": code})
            applies = normalize_code(code) == "SAVE10" and "\x00" not in code
        ok(response)
        held = client.session.get(COUPON_SESSION_KEY)
        assert held in (None, usable.id)
        if applies is not None:
            assert (held == usable.id) == applies
        assert session_cart(client) == {catalog.in_stock.id: 2}
        ok(client.get("/en/cart/"))
        ok(client.post("/en/coupons/remove/"))
        assert COUPON_SESSION_KEY not in client.session


# 2. Checkout forms ---------------------------------------------------------------------------


@hypothesis_settings(max_examples=examples(1.5))
@given(customer=customer_values, quantity=st.integers(1, MAX_PER_PRODUCT))
def test_checkout_with_bad_input_places_an_order_with_its_items_or_none(catalog, customer, quantity):
    data = form_data(**customer)
    with example_rolled_back():
        client = Client()
        assert add(client, str(catalog.in_stock.id), str(quantity), None).status_code == 302
        stock_before = Product.objects.get(id=catalog.in_stock.id).stock
        orders_before = Order.objects.count()
        data = {**checkout_form(client), **data}

        response = client.post("/en/orders/create/", data)

        ok(response)
        valid = OrderCreateForm(data).is_valid()
        note(f"form valid: {valid}")
        if valid:
            assert response.status_code == 302
            order_id = int(response.url.rsplit("?order=", 1)[1])  # the payment page's
            order = Order.objects.get(id=order_id)
            items = [(i.product_id, i.quantity) for i in order.items.all()]
            assert items == [(catalog.in_stock.id, quantity)]
            assert Product.objects.get(id=catalog.in_stock.id).stock == stock_before - quantity
            thank_you = client.get(f"/en/orders/created/{order_id}/")
            assert thank_you.status_code == 200
            assert session_cart(client) == {}
        else:
            assert response.status_code == 200  # the form again, with its errors
            assert Order.objects.count() == orders_before
            assert Product.objects.get(id=catalog.in_stock.id).stock == stock_before
            assert session_cart(client) == {catalog.in_stock.id: quantity}
        assert_no_negative_stock_or_quantity()


# 3. Hand-edited session contents -------------------------------------------------------------


def cart_session_values(catalog: Catalog):
    keys = st.one_of(
        st.sampled_from(catalog.target_ids() + ["0", "-1", str(2**63 - 1), str(2**63), "١", " 1"]),
        st.text(max_size=6),
    )
    near_valid = st.fixed_dictionaries(
        {"items": st.dictionaries(keys, st.one_of(st.integers(-5, 10**30), json_values), max_size=5)},
        optional={"token": st.one_of(st.uuids().map(lambda u: u.hex), json_values)},
    )
    return st.one_of(near_valid, json_values, st.just("absent"))


def placed_session_values(order_id: int):
    ids = st.one_of(st.just(order_id), st.integers(-(2**70), 2**70), json_scalars)
    return st.one_of(st.lists(ids, max_size=25), json_values, st.just("absent"))


def surviving_line(cart_value, product_id: int) -> int | None:
    """The quantity the cart must still show for product_id after damage elsewhere, if any."""
    if not (isinstance(cart_value, dict) and isinstance(cart_value.get("items"), dict)):
        return None
    items = cart_value["items"]
    same_product = [
        k for k in items if isinstance(k, str) and k.isascii() and k.isdigit() and int(k) == product_id
    ]
    if same_product != [str(product_id)]:
        return None
    quantity = items[str(product_id)]
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
        return None
    return min(quantity, MAX_PER_PRODUCT)


@hypothesis_settings(max_examples=examples(2))
@given(data=st.data())
def test_hand_edited_session_values_are_dropped_never_a_500(catalog, order, data):
    # `order` is someone else's: this session never placed it.
    cart_value = data.draw(cart_session_values(catalog), label="cart")
    placed_value = data.draw(placed_session_values(order.id), label="orders_placed")
    values = {}
    if cart_value != "absent":
        values[settings.CART_SESSION_ID] = cart_value
    if placed_value != "absent":
        values["orders_placed"] = placed_value
    with example_rolled_back():
        client = Client()
        write_session(client, values)

        ok(client.get("/en/cart/"))
        survivor = surviving_line(cart_value, catalog.in_stock.id)
        if survivor is not None:
            assert session_cart(client).get(catalog.in_stock.id) == survivor
        for held in session_cart(client).values():
            assert 1 <= held <= MAX_PER_PRODUCT
        ok(client.get("/en/"))
        checkout_page = client.get("/en/orders/create/")
        ok(checkout_page)
        if isinstance(placed_value, list):
            ids = {i for i in placed_value if isinstance(i, int) and not isinstance(i, bool) and i >= 0}
            for order_id in ids:
                ok(client.get(f"/en/orders/created/{order_id}/"))
        stock_before = dict(Product.objects.values_list("id", "stock"))
        shown = hidden_fields(checkout_page) if checkout_page.status_code == 200 else {}
        response = client.post("/en/orders/create/", {**shown, **CUSTOMER})
        ok(response)
        if response.status_code == 302 and "/en/payment/process/" in response.url:
            placed = Order.objects.exclude(id=order.id).get()
            for item in placed.items.all():
                assert 1 <= item.quantity <= MAX_PER_PRODUCT
                stock = Product.objects.get(id=item.product_id).stock
                assert stock == stock_before[item.product_id] - item.quantity
        # Whatever the session held, the shopper can still fill a cart.
        assert add(Client(), str(catalog.in_stock.id), "1", None).status_code == 302
        assert add(client, str(catalog.in_stock.id), "1", None).status_code == 302
        assert session_cart(client).get(catalog.in_stock.id, 0) >= 1
        assert_no_negative_stock_or_quantity()


# 4. SQS records for the worker Lambda ----------------------------------------------------------

GOOD_ID = "good-record"


def celery_envelope(*, task: str, args: list, kwargs: dict | None = None, embed=None, headers=None,
                    body_encoding="base64", raw_body=None) -> dict:
    """A Celery message as kombu's SQS transport writes it, before the outer base64."""
    body = raw_body if raw_body is not None else json.dumps(
        [args, kwargs or {}, embed if embed is not None else
         {"callbacks": None, "errbacks": None, "chain": None, "chord": None}]
    )
    if body_encoding == "base64" and isinstance(body, str):
        body = base64.b64encode(body.encode()).decode()
    return {
        "body": body,
        "content-encoding": "utf-8",
        "content-type": "application/json",
        "headers": {"lang": "py", "task": task, "id": str(uuid.uuid4()), "eta": None, "expires": None,
                    "retries": 0, **(headers or {})},
        "properties": {"delivery_info": {"exchange": "", "routing_key": "celery"},
                       "body_encoding": body_encoding, "priority": 0},
    }


def sqs_body(envelope) -> str:
    return base64.b64encode(json.dumps(envelope).encode()).decode()


def record(message_id, body) -> dict:
    return {
        "messageId": message_id,
        "receiptHandle": f"{message_id}-receipt",
        "body": body,
        "attributes": {"ApproximateReceiveCount": "1"},
        "messageAttributes": {},
        "md5OfBody": "",
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:eu-west-1:123456789012:shop-tasks",
        "awsRegion": "eu-west-1",
    }


moments = st.one_of(
    st.datetimes(timezones=st.timezones()).map(lambda d: d.isoformat()),
    st.datetimes().map(lambda d: d.isoformat()),
    st.text(max_size=30),
    json_values,
)


@st.composite
def mutated_envelopes(draw, order_id: int):
    task_names = sorted(name for name in celery_app.tasks if not name.startswith("tests."))
    envelope = celery_envelope(
        task=draw(st.one_of(st.just("apps.orders.tasks.order_created"), st.sampled_from(task_names),
                            st.text(max_size=20))),
        args=draw(st.one_of(st.just([order_id]), st.lists(json_values, max_size=3))),
        kwargs=draw(st.one_of(st.just({}), st.dictionaries(st.text(max_size=16), json_values, max_size=3))),
        embed=draw(st.one_of(st.none(), json_values)),
        body_encoding=draw(st.sampled_from(["base64", "base64", None, "utf-8", "gzip"])),
        raw_body=draw(st.one_of(st.none(), st.none(), st.text(max_size=40), json_values.map(json.dumps))),
    )
    header_keys = ["task", "id", "eta", "expires", "retries", "compression", "timelimit", "root_id",
                   "parent_id", "group", "argsrepr", "kwargsrepr", "origin", "ignore_result", "stamps"]
    for key in draw(st.lists(st.sampled_from(header_keys), max_size=4, unique=True)):
        if draw(st.booleans()):
            envelope["headers"].pop(key, None)
        else:
            envelope["headers"][key] = draw(moments if key in ("eta", "expires") else json_values)
    for key in draw(st.lists(st.sampled_from(["content-type", "content-encoding", "headers", "properties",
                                              "body"]), max_size=2, unique=True)):
        if draw(st.booleans()):
            del envelope[key]
        else:
            envelope[key] = draw(json_values)
    for key in draw(st.lists(st.sampled_from(["delivery_info", "body_encoding", "priority", "reply_to",
                                              "correlation_id"]), max_size=2, unique=True)):
        if isinstance(envelope.get("properties"), dict):
            envelope["properties"][key] = draw(json_values)
    return envelope


def bad_bodies(order_id: int):
    return st.one_of(
        mutated_envelopes(order_id).map(sqs_body),
        mutated_envelopes(order_id).map(json.dumps),  # the envelope without the outer base64
        st.text(max_size=50),
        st.binary(max_size=60).map(lambda b: base64.b64encode(b).decode()),
        json_values.map(lambda v: base64.b64encode(json.dumps(v).encode()).decode()),
        json_values,  # not even a string
    )


def bad_records(order_id: int):
    shaped = st.builds(
        record, message_id=st.one_of(st.text(max_size=12), json_values), body=bad_bodies(order_id)
    )
    return st.one_of(shaped, shaped, shaped, json_values)


class FakeSqsClient:
    """Stands in for boto3's SQS client: records the messages sent back (early records)."""

    def __init__(self):
        self.sent = []

    def send_message(self, **kwargs):
        self.sent.append(kwargs)
        return {"MessageId": str(uuid.uuid4())}

    def get_queue_url(self, *, QueueName, QueueOwnerAWSAccountId):
        return {"QueueUrl": f"https://queue.invalid/{QueueOwnerAWSAccountId}/{QueueName}"}


@pytest.fixture
def worker(monkeypatch, settings, caplog):
    """The worker Lambda in a warm container, with SQS replaced and database connections kept.

    close_old_connections is made a no-op: it closes a connection that is inside a transaction,
    and each example here runs inside one (its savepoint); how the worker treats connections is
    tested in tests/test_lambda_worker.py. SQS is a fake client, so that a record that arrives
    early goes through the real send-again path without a network.
    """
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    # One log line per record (built all the same) would bury a failure's own report.
    caplog.set_level(logging.CRITICAL, logger="shop_project.lambda_worker")
    caplog.set_level(logging.CRITICAL, logger="celery")
    settings.CELERY_SQS_QUEUE_URL = ""
    monkeypatch.setattr(container, "_django_ready", True)
    monkeypatch.setattr(task_run, "close_old_connections", lambda: None)
    fake = FakeSqsClient()
    monkeypatch.setattr(sqs, "sqs_client", lambda **_: fake)
    return fake


def assert_handler_answer(response, event) -> set[str]:
    assert isinstance(response, dict) and set(response) == {"batchItemFailures"}
    failures = response["batchItemFailures"]
    assert isinstance(failures, list)
    for failure in failures:
        assert set(failure) == {"itemIdentifier"} and isinstance(failure["itemIdentifier"], str)
    records = event.get("Records") if isinstance(event, dict) else None
    assert len(failures) <= (len(records) if isinstance(records, list) else 0)
    return {failure["itemIdentifier"] for failure in failures}


@hypothesis_settings(max_examples=examples(1.5))
@given(data=st.data())
def test_worker_survives_any_event_shape(worker, order, data):
    event = data.draw(st.one_of(
        json_values,
        st.fixed_dictionaries({"Records": st.one_of(json_values, st.lists(bad_records(order.id),
                                                                          max_size=4))}),
    ), label="event")
    with example_rolled_back():
        response = handler(event, None)
        assert_handler_answer(response, event)
        assert len(mail.outbox) <= 1  # one e-mail per order, however the messages are mangled


@hypothesis_settings(max_examples=examples(1.5))
@given(data=st.data())
def test_a_good_record_beside_bad_ones_still_runs(worker, order, data):
    bad = data.draw(st.lists(bad_records(order.id), max_size=5), label="bad records")
    assume(all(not isinstance(r, dict) or r.get("messageId") != GOOD_ID for r in bad))
    position = data.draw(st.integers(0, len(bad)), label="position")
    good = record(GOOD_ID, sqs_body(celery_envelope(task="apps.orders.tasks.order_created",
                                                    args=[order.id])))
    event = {"Records": [*bad[:position], good, *bad[position:]]}
    with example_rolled_back():
        response = handler(event, None)

        failed = assert_handler_answer(response, event)
        assert GOOD_ID not in failed
        order.refresh_from_db()
        assert order.confirmation_status == ConfirmationStatus.SENT
        assert [message.to for message in mail.outbox] == [[order.email]]


def test_celery_message_decode_is_total():
    """The pure decoder raises UndecodableMessageError and nothing else, whatever the body."""

    @hypothesis_settings(max_examples=examples(0.5))
    @given(body=st.one_of(bad_bodies(1), st.binary().map(lambda b: b.decode("latin-1"))))
    def decode(body):
        try:
            messages.celery_message_decode(body=body)
        except messages.UndecodableMessageError:
            pass

    decode()


# 5. The cart as a state machine, against a model of what it should hold ------------------------


class CartMachine(RuleBasedStateMachine):
    """A shopper (and, now and then, staff) against the real views; the model is a dict.

    Staff change stock and availability between the shopper's requests; the model predicts the
    cart after every request and checkout's outcome, and the stock bookkeeping must balance.
    """

    def __init__(self):
        super().__init__()
        self._atomic = transaction.atomic()
        self._atomic.__enter__()
        mail.outbox = []
        self.client = Client()
        self.cart: dict[int, int] = {}
        self.products: list[Product] = []
        self.deleted_id = 0
        self.stock_in: dict[int, int] = {}  # what each product's stock plus its sold units must be

    @initialize(stocks=st.lists(st.integers(0, 30), min_size=3, max_size=3))
    def make_products(self, stocks):
        self.products = [ProductFactory(stock=stock) for stock in stocks]
        gone = ProductFactory()
        self.deleted_id = gone.id
        gone.delete()
        self.stock_in = {p.id: p.stock for p in self.products}

    def teardown(self):
        transaction.set_rollback(True)
        self._atomic.__exit__(None, None, None)

    def _ids(self):
        return st.sampled_from([p.id for p in self.products] + [self.deleted_id])

    def _available(self, product_id: int) -> bool:
        return Product.objects.filter(id=product_id, available=True).exists()

    @rule(data=st.data(), quantity=quantity_values, override=override_values)
    def add(self, data, quantity, override):
        product_id = data.draw(self._ids(), label="product")
        response = add(self.client, str(product_id), quantity, override)
        ok(response)
        wanted = quantity_accepted(quantity)
        if not self._available(product_id):
            assert response.status_code == 404
        elif wanted is not None:
            current = 0 if override_accepted(override) else self.cart.get(product_id, 0)
            self.cart[product_id] = min(current + wanted, MAX_PER_PRODUCT)

    @rule(data=st.data())
    def remove(self, data):
        product_id = data.draw(self._ids(), label="product")
        ok(self.client.post(f"/en/cart/remove/{product_id}/"))
        self.cart.pop(product_id, None)

    @rule()
    def view_cart(self):
        ok(self.client.get("/en/cart/"))
        # Lines of products no longer sold leave the cart when it is shown.
        self.cart = {k: v for k, v in self.cart.items() if self._available(k)}

    @rule(data=st.data(), stock=st.integers(0, 30))
    def staff_sets_stock(self, data, stock):
        product = data.draw(st.sampled_from(self.products), label="product")
        sold = OrderItem.objects.filter(product=product).aggregate(n=Sum("quantity"))["n"] or 0
        Product.objects.filter(id=product.id).update(stock=stock)
        self.stock_in[product.id] = stock + sold

    @rule(data=st.data(), available=st.booleans())
    def staff_sets_availability(self, data, available):
        product = data.draw(st.sampled_from(self.products), label="product")
        Product.objects.filter(id=product.id).update(available=available)

    @rule(valid=st.booleans())
    def checkout(self, valid):
        customer = CUSTOMER if valid else {**CUSTOMER, "email": "not an e-mail\x00"}
        page = self.client.get("/en/orders/create/")
        ok(page)
        # The page lists the cart: lines of products no longer sold leave it.
        self.cart = {k: v for k, v in self.cart.items() if self._available(k)}
        shown = hidden_fields(page) if page.status_code == 200 else {}
        stock = dict(Product.objects.values_list("id", "stock"))
        orders_before = set(Order.objects.values_list("id", flat=True))
        sellable = all(stock.get(k, 0) >= v for k, v in self.cart.items())
        response = self.client.post("/en/orders/create/", {**shown, **customer})
        ok(response)
        new_orders = Order.objects.exclude(id__in=orders_before)
        if not self.cart:
            assert response.status_code == 302 and not new_orders.exists()
        elif valid and sellable:
            assert response.status_code == 302, response.content[:2000]
            (order,) = new_orders
            assert {i.product_id: i.quantity for i in order.items.all()} == self.cart
            for product_id, quantity in self.cart.items():
                assert Product.objects.get(id=product_id).stock == stock[product_id] - quantity
            # The thank-you page (the payment page it leads to needs Stripe): it settles the cart.
            assert self.client.get(f"/en/orders/created/{order.id}/").status_code == 200
            self.cart = {}
        else:
            assert response.status_code == 200 and not new_orders.exists()
            # The page lists the cart: lines of products no longer sold leave it.
            self.cart = {k: v for k, v in self.cart.items() if self._available(k)}

    @invariant()
    def session_matches_the_model(self):
        if not self.products:
            return
        assert session_cart(self.client) == self.cart

    @invariant()
    def stock_balances(self):
        if not self.products:
            return
        assert_no_negative_stock_or_quantity()
        products = Product.objects.filter(id__in=self.stock_in).annotate(sold=Sum("order_items__quantity"))
        for product in products:
            assert product.stock + (product.sold or 0) == self.stock_in[product.id]


def test_cart_state_machine(catalog):
    run_state_machine_as_test(
        CartMachine,
        settings=hypothesis_settings(max_examples=examples(1), stateful_step_count=20),
    )
