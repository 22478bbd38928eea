"""One JSON line per request and per task (shop_project/logs.py), with ids and no personal data.

Every line is formatted as production formats it (its JSON formatter and request-ids filter),
so what is asserted is what CloudWatch Logs would hold.
"""

from __future__ import annotations

import json
import logging
import re
from types import SimpleNamespace

import pytest
from django.urls import reverse

from apps.orders.models import Order
from apps.orders.tasks import order_created
from apps.orders.tests.checkout import place_order, thank_you_url
from apps.orders.tests.factories import CUSTOMER
from apps.shop.tests.factories import ProductFactory
from shop_project import logs

# A request or task id: a UUID, with or without its dashes.
RANDOM_ID = re.compile(r"\b[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}\b")
# The values of the customer that must never reach a log line.
PERSONAL = [value for key, value in CUSTOMER.items() if isinstance(value, str)]


def production_formatter() -> logging.Formatter:
    options = dict(logs.JSON_FORMATTER)
    module, _, name = options.pop("()").rpartition(".")
    return getattr(__import__(module, fromlist=[name]), name)(**options)


@pytest.fixture
def log_lines(caplog):
    """Every record logged in the test, at INFO and above, as production's JSON lines (dicts)."""
    caplog.set_level(logging.INFO)
    for name in ("shop_project.request", "shop_project.task"):
        caplog.set_level(logging.INFO, logger=name)
    formatter, ids = production_formatter(), logs.RequestIdsFilter()
    # As on production's handler: the filter runs when the line is logged, within the request.
    caplog.handler.addFilter(ids)

    def lines(logger: str | None = None) -> list[dict]:
        return [
            json.loads(formatter.format(record))
            for record in caplog.records
            if logger is None or record.name == logger
        ]

    yield lines
    caplog.handler.removeFilter(ids)


def in_cart(client, product, quantity=1):
    client.post(reverse("cart:cart_add", args=[product.id]), {"quantity": quantity, "override": "False"})


@pytest.mark.django_db
class TestRequestLog:
    def test_one_line_per_request_with_path_route_status_and_duration(self, client, log_lines):
        product = ProductFactory()

        client.get(product.get_absolute_url())

        [line] = log_lines("shop_project.request")
        assert line["message"] == "request" and line["level"] == "INFO"
        assert (line["method"], line["path"], line["status"]) == ("GET", product.get_absolute_url(), 200)
        assert (line["route"], line["language"]) == ("<int:id>/<catalog_slug:slug>/", "en")
        assert isinstance(line["duration_ms"], float) and line["duration_ms"] >= 0
        assert line["order_id"] is None and line["lambda_request_id"] is None
        assert len(line["request_id"]) == 32  # a new one: nobody sent any

    def test_ids_come_from_api_gateway_and_the_lambda_context_zappa_passes_in_the_environ(
        self, client, log_lines
    ):
        event = {"requestContext": {"requestId": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef"}}
        context = SimpleNamespace(aws_request_id="7f0b7a53-8b1c-4c0e-9a9b-0e1d2c3b4a59")

        response = client.get("/healthz/", **{"lambda.event": event, "lambda.context": context})

        [line] = log_lines("shop_project.request")
        assert line["request_id"] == response["X-Request-ID"] == "c6af9ac6-7b61-11e6-9a41-93e8deadbeef"
        assert line["lambda_request_id"] == "7f0b7a53-8b1c-4c0e-9a9b-0e1d2c3b4a59"

    def test_a_proxys_request_id_is_kept_and_a_malformed_one_replaced(self, client, log_lines):
        kept = client.get("/healthz/", HTTP_X_REQUEST_ID="edge-1234")
        replaced = client.get("/healthz/", HTTP_X_REQUEST_ID=CUSTOMER["email"])

        first, second = log_lines("shop_project.request")
        assert first["request_id"] == kept["X-Request-ID"] == "edge-1234"
        assert second["request_id"] == replaced["X-Request-ID"] != CUSTOMER["email"]

    def test_checkout_and_thank_you_lines_name_the_order(self, client, log_lines):
        in_cart(client, ProductFactory(stock=3))

        response = place_order(client)
        client.get(thank_you_url(response))

        order = Order.objects.get()
        lines = {(line["method"], line["route"]): line for line in log_lines("shop_project.request")}
        assert lines[("POST", "orders/create/")]["status"] == 302
        assert lines[("POST", "orders/create/")]["order_id"] == order.id
        assert lines[("GET", "orders/created/<int:order_id>/")]["order_id"] == order.id
        assert lines[("GET", "orders/create/")]["order_id"] is None

    def test_a_payment_page_line_names_its_order_from_the_query_string(self, client, log_lines):
        client.get("/en/payment/canceled/?order=41")
        client.get("/en/payment/canceled/?order=x41")
        named = [line["order_id"] for line in log_lines("shop_project.request")]
        assert named == [41, None]

    def test_other_lines_of_the_request_carry_its_ids(self, client, log_lines):
        # A 404 is logged by Django itself (django.request), inside the request.
        client.get("/no/such/page/here/", HTTP_X_REQUEST_ID="edge-404")

        by_logger = {line["logger"]: line for line in log_lines()}
        assert by_logger["django.request"]["request_id"] == "edge-404"
        assert by_logger["shop_project.request"]["status"] == 404


@pytest.mark.django_db
class TestTaskLog:
    def test_one_line_per_task_with_name_id_state_retries_duration_and_order_id(self, order, log_lines):
        # Celery's tracer, as `celery worker` and the worker Lambda run a task, sends the signals.
        result = order_created.apply(args=[order.id])

        [line] = log_lines("shop_project.task")
        assert (line["task"], line["task_id"], line["state"]) == (
            "apps.orders.tasks.order_created", result.id, "SUCCESS"
        )
        assert (line["retries"], line["order_id"]) == (0, order.id)
        assert isinstance(line["duration_ms"], float)
        assert "error" not in line

    def test_a_failed_task_names_the_exception_class_not_its_message(self, order, log_lines, settings):
        settings.EMAIL_BACKEND = "tests.test_lambda_worker.UnreachableMailServer"

        order_created.apply(kwargs={"order_id": order.id}, retries=order_created.max_retries)

        final = log_lines("shop_project.task")[-1]
        assert (final["state"], final["level"], final["order_id"]) == ("FAILURE", "WARNING", order.id)
        assert final["retries"] == order_created.max_retries
        assert final["error"] == "ConfirmationNotSentError"
        assert "unreachable" not in json.dumps(final)


@pytest.mark.django_db
class TestNoPersonalDataInLogs:
    def test_a_whole_purchase_and_its_confirmation_log_no_customer_data(self, client, log_lines, mailoutbox):
        product = ProductFactory(stock=3)
        # A query string may carry anything; the path is logged without it.
        client.get(f"/en/?q={CUSTOMER['email']}&name={CUSTOMER['last_name']}")
        in_cart(client, product)
        thank_you = thank_you_url(place_order(client))
        client.get(thank_you)
        order = Order.objects.get()
        order_created.apply(args=[order.id])
        assert [message.to for message in mailoutbox] == [[CUSTOMER["email"]]]

        lines = log_lines()
        assert {line["logger"] for line in lines} >= {"shop_project.request", "shop_project.task"}
        text = "\n".join(json.dumps(line) for line in lines)
        # Request and task ids are random hex, which now and then spells "ada" (the first name).
        searched = RANDOM_ID.sub("<id>", text)
        leaked = [value for value in PERSONAL if value.lower() in searched.lower()]
        assert leaked == [], text
        assert f'"order_id": {order.id}' in text
