"""Bought together: counted once per paid order, shown on the product and cart pages."""

from decimal import Decimal

import pytest
from django.db import transaction
from django.test import Client
from django.urls import reverse

from apps.orders.models import Order
from apps.payment.signals import order_paid
from apps.recommendations import selectors, services
from apps.recommendations.models import CountedOrder
from apps.recommendations.tasks import bought_together_count
from apps.recommendations.tests.pairs import counts, paid_order
from apps.shop.models import Product
from apps.shop.tests.factories import ProductFactory

pytestmark = pytest.mark.django_db

TASK = "apps.recommendations.tasks.bought_together_count"



class TestBoughtTogetherCount:
    def test_every_pair_of_the_order_is_counted_in_both_directions(self):
        a, b, c = ProductFactory.create_batch(3)
        assert services.bought_together_count(order_id=paid_order(a, b, c).id) is True
        services.bought_together_count(order_id=paid_order(a, b).id)

        assert counts() == {(a.id, b.id): 2, (b.id, a.id): 2, (a.id, c.id): 1, (c.id, a.id): 1,
                            (b.id, c.id): 1, (c.id, b.id): 1}

    def test_a_redelivered_task_counts_the_order_once(self):
        a, b = ProductFactory.create_batch(2)
        order = paid_order(a, b)

        bought_together_count.apply(args=[order.id]).get()
        bought_together_count.apply(args=[order.id]).get()

        assert counts() == {(a.id, b.id): 1, (b.id, a.id): 1}
        assert CountedOrder.objects.filter(order_id=order.id).count() == 1

    def test_an_order_of_one_product_counts_nothing_and_an_unknown_order_is_refused(self):
        services.bought_together_count(order_id=paid_order(ProductFactory()).id)
        assert counts() == {}
        assert services.bought_together_count(order_id=10**9) is False


class TestOrderPaidReceiver:
    def test_publishes_the_count_once_the_paying_transaction_commits(self, published,
                                                                   django_capture_on_commit_callbacks):
        order = paid_order(*ProductFactory.create_batch(2))
        # Other receivers (the invoice) publish on commit too: only this task is looked at.
        with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
            order_paid.send(sender=Order, order_id=order.id)
            assert [call for call in published if call[0] == TASK] == []
        assert [call for call in published if call[0] == TASK] == [(TASK, [order.id])]

    def test_publishes_nothing_when_the_paying_transaction_rolls_back(self, published,
                                                                      django_capture_on_commit_callbacks):
        order = paid_order(*ProductFactory.create_batch(2))
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            with pytest.raises(RuntimeError), transaction.atomic():
                order_paid.send(sender=Order, order_id=order.id)
                raise RuntimeError("the payment could not be recorded")
        assert callbacks == [] and published == []


@pytest.fixture
def bought_with_lamp():
    """A lamp bought with five products, most often with the first; the fourth is unavailable."""
    lamp = ProductFactory(name="Lamp", price=Decimal("10.00"), stock=10)
    others = [ProductFactory(name=f"Other {i}", stock=10) for i in range(5)]
    for times, product in zip([5, 4, 3, 2, 1], others, strict=True):
        for _ in range(times):
            services.bought_together_count(order_id=paid_order(lamp, product).id)
    Product.objects.filter(id=others[3].id).update(available=False)
    return lamp, others


class TestProductPage:
    def test_shows_up_to_four_available_products_most_often_bought_with_it(self, bought_with_lamp):
        lamp, others = bought_with_lamp
        response = Client().get(lamp.get_absolute_url())
        body = response.content.decode()
        shown = [name for name in ["Other 0", "Other 1", "Other 2", "Other 3", "Other 4"] if name in body]
        assert shown == ["Other 0", "Other 1", "Other 2", "Other 4"]
        assert body.index("Other 0") < body.index("Other 1") < body.index("Other 2") < body.index("Other 4")

    def test_a_product_bought_with_nothing_shows_no_list(self):
        body = Client().get(ProductFactory().get_absolute_url()).content.decode()
        assert "bought-together" not in body

    def test_a_product_made_unavailable_leaves_the_cached_page_at_once(self, bought_with_lamp):
        lamp, others = bought_with_lamp
        assert "Other 0" in Client().get(lamp.get_absolute_url()).content.decode()
        others[0].available = False
        others[0].save()  # staff's save: the catalog cache forgets its pages
        assert "Other 0" not in Client().get(lamp.get_absolute_url()).content.decode()


class TestCartPage:
    def test_shows_what_was_bought_with_the_lines_added_up_without_what_is_in_the_cart(self, client,
                                                                                       bought_with_lamp):
        lamp, others = bought_with_lamp
        mug = ProductFactory(name="Mug", stock=10)
        # Bought with the mug three times: added to its 3 with the lamp, Other 2 (6) passes Other 0 (5).
        for _ in range(3):
            services.bought_together_count(order_id=paid_order(mug, others[2]).id)
        for product in (lamp, mug, others[1]):
            client.post(reverse("cart:cart_add", args=[product.id]), {"quantity": 1})

        response = client.get(reverse("cart:cart_detail"))

        assert [p.name for p in response.context["bought_together"]] == ["Other 2", "Other 0", "Other 4"]
        assert "Often bought with these" in response.content.decode()


class TestReadIsBounded:
    """Each line's PARTNERS_READ most frequent partners are read, never all of its pairs."""

    def test_a_partner_outside_every_lines_top_partners_is_not_listed(self, client, monkeypatch):
        from apps.recommendations import selectors

        monkeypatch.setattr(selectors, "PARTNERS_READ", 2)
        lamp, mug = ProductFactory(name="Lamp", stock=10), ProductFactory(name="Mug", stock=10)
        often = [ProductFactory(name=f"Often {i}", stock=10) for i in range(4)]
        # Third for both lines (2 + 2 = 4 in all), above each line's second (3): not read.
        third = ProductFactory(name="Third", stock=10)
        for times, line, other in [(5, lamp, often[0]), (3, lamp, often[1]), (5, mug, often[2]),
                                   (3, mug, often[3]), (2, lamp, third), (2, mug, third)]:
            for _ in range(times):
                services.bought_together_count(order_id=paid_order(line, other).id)

        listed = selectors.bought_with_cart(product_ids=[lamp.id, mug.id])

        assert [p.name for p in listed] == ["Often 0", "Often 2", "Often 1", "Often 3"]
        monkeypatch.setattr(selectors, "PARTNERS_READ", 3)
        assert "Third" in [p.name for p in selectors.bought_with_cart(product_ids=[lamp.id, mug.id])]

    @pytest.mark.postgres
    def test_a_product_bought_with_hundreds_reads_only_its_top_partners(self):
        from django.db import connection

        from apps.recommendations.models import ProductPair
        from apps.recommendations.selectors import PARTNERS_READ, _bought_with_query

        lamp = ProductFactory(name="Lamp", stock=10)
        others = ProductFactory.create_batch(300, stock=10)
        ProductPair.objects.bulk_create(ProductPair(product=lamp, other=other, count=i % 50 + 1)
                                        for i, other in enumerate(others))
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {ProductPair._meta.db_table}")
            sql, params = _bought_with_query([lamp.id], 4)
            cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + sql, params)
            plan = cursor.fetchone()[0]

        def scans(node):
            if node.get("Relation Name") == ProductPair._meta.db_table:
                yield node
            for child in node.get("Plans", []):
                yield from scans(child)

        [pairs_scan] = scans(plan[0]["Plan"])
        assert pairs_scan["Actual Rows"] <= PARTNERS_READ

    def test_a_cart_of_hundreds_of_lines_reads_its_first_lines_partners_in_one_bounded_query(
        self, django_assert_num_queries
    ):
        from apps.recommendations.selectors import LINES_READ, _bought_with_query

        lines = ProductFactory.create_batch(600, stock=10)  # a script can fill a cart like this
        partner = ProductFactory(name="Partner", stock=10)
        services.bought_together_count(order_id=paid_order(lines[0], partner).id)
        services.bought_together_count(order_id=paid_order(lines[0], lines[1]).id)  # in the cart

        with django_assert_num_queries(1):  # SQLite refused 500 subqueries in one SELECT
            listed = selectors.bought_with_cart(product_ids=[line.id for line in lines])

        assert [p.name for p in listed] == ["Partner"]
        sql, params = _bought_with_query([line.id for line in lines], 4)
        assert sql.count("UNION ALL") == LINES_READ - 1
        assert len(params) < LINES_READ * (LINES_READ + 2) + len(lines) + 2
