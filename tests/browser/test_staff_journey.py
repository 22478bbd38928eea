"""A staff member in a real browser: admin login → orders → search → order → CSV export → order page.

Screenshots of each step go to test-artifacts/browser/ (prefixed `staff-`).
"""

import csv
import io

import pytest
from playwright.sync_api import expect

from apps.orders.csv_export import COLUMNS
from apps.orders.tests.factories import CUSTOMER, OrderItemFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "staff-password-1"


@pytest.fixture
def staff(django_user_model):
    return django_user_model.objects.create_superuser("staff", "staff@example.com", PASSWORD)


@pytest.fixture
def other_orders():
    """Two other customers' orders, for Ada's (the `order` fixture) to be found among."""
    return OrderItemFactory.create_batch(2)


class TestStaffJourney:
    @pytest.mark.usefixtures("other_orders")
    def test_staff_finds_an_order_and_exports_it_to_csv(self, page, live_server, screenshot, staff, order):
        page.goto(live_server.url + "/admin/")
        page.wait_for_url("**/admin/login/**")
        page.locator("#id_username").fill(staff.username)
        page.locator("#id_password").fill(PASSWORD)
        screenshot("staff-01-admin-login")
        page.get_by_role("button", name="Log in").click()
        expect(page.get_by_role("heading", name="Site administration")).to_be_visible()
        screenshot("staff-02-admin-index")

        page.locator("#content-main a[href$='/admin/orders/order/']").first.click()
        # Room for the order list's columns (the admin remembers this in the browser).
        page.locator("#toggle-nav-sidebar").click()
        expect(page.locator("#result_list tbody tr")).to_have_count(3)
        page.locator("#searchbar").fill(CUSTOMER["email"])
        page.locator("#searchbar").press("Enter")
        rows = page.locator("#result_list tbody tr")
        expect(rows).to_have_count(1)
        expect(rows.first).to_contain_text(CUSTOMER["email"])
        screenshot("staff-03-admin-orders")

        rows.first.locator("th a").click()
        expect(page.get_by_role("heading", name="Change order")).to_be_visible()
        expect(page.locator("#id_email")).to_have_value(CUSTOMER["email"])
        screenshot("staff-04-admin-order")

        page.go_back()
        rows.first.locator("input.action-select").check()
        page.locator("select[name=action]").select_option(label="Export selected orders to CSV")
        screenshot("staff-05-admin-export")
        with page.expect_download() as download_info:
            page.get_by_role("button", name="Go").click()
        download = download_info.value
        assert download.suggested_filename.startswith("orders-")
        assert download.suggested_filename.endswith(".csv")
        with open(download.path(), encoding="utf-8", newline="") as exported:
            table = list(csv.reader(io.StringIO(exported.read())))
        assert table[0] == COLUMNS
        assert len(table) == 2
        row = dict(zip(COLUMNS, table[1], strict=True))
        assert row["id"] == str(order.id)
        assert {field: row[field] for field in CUSTOMER} == CUSTOMER
        assert row["total_cost"] == "62.30"

        page.locator("#result_list tbody tr").first.get_by_role("link", name="View").click()
        page.wait_for_url(f"**/admin/orders/order/{order.id}/detail/")
        expect(page.get_by_role("heading", name=f"Order {order.id}")).to_be_visible()
        expect(page.locator("#content")).to_contain_text("Desk lamp")
        expect(page.locator("#content")).to_contain_text("$62.30")
        screenshot("staff-06-order-page")
