"""The shop in English and Korean: the URL prefixes, old URLs, the first visit's language, the switcher."""

import re
from html import unescape

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import translation

from apps.shop.tests.factories import ProductFactory

pytestmark = pytest.mark.django_db

SWITCH_LINK = re.compile(r'<a href="(/language/\?[^"]+)" hreflang="(\w+)"')


def switch_links(response) -> dict[str, str]:
    """The header's switcher links of a page, by language."""
    return {language: unescape(url) for url, language in SWITCH_LINK.findall(response.content.decode())}


def in_language(language: str, name: str, *args) -> str:
    with translation.override(language):
        return reverse(name, args=args)


class TestUrls:
    def test_shop_pages_are_under_a_language_prefix(self):
        assert in_language("en", "cart:cart_detail") == "/en/cart/"
        assert in_language("ko", "cart:cart_detail") == "/ko/cart/"
        assert in_language("ko", "shop:product_list") == "/ko/"

    def test_the_webhook_health_check_and_admin_have_one_url(self, client):
        assert in_language("ko", "payment_webhook") == "/payment/webhook/"
        assert in_language("ko", "healthz") == "/healthz/"
        assert in_language("ko", "admin:index") == "/admin/"
        assert client.get("/healthz/", HTTP_ACCEPT_LANGUAGE="ko").status_code == 200
        assert client.get("/ko/healthz/").status_code == 404

    def test_the_page_says_its_language(self, client):
        assert '<html lang="ko">' in client.get("/ko/").content.decode()
        assert '<html lang="en">' in client.get("/en/").content.decode()

    def test_the_prefix_wins_over_the_browser_and_the_cookie(self, client):
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = "ko"

        response = client.get("/en/cart/", HTTP_ACCEPT_LANGUAGE="ko")

        assert '<html lang="en">' in response.content.decode()


class TestFirstVisit:
    @pytest.mark.parametrize(("accept_language", "home"), [
        ("ko-KR,ko;q=0.9,en-US;q=0.8", "/ko/"),
        ("en-US,en;q=0.9", "/en/"),
        ("fr-FR,fr;q=0.9", "/en/"),  # neither: English, the default
        ("", "/en/"),
    ])
    def test_the_browser_language_picks_the_prefix(self, client, accept_language, home):
        response = client.get("/", HTTP_ACCEPT_LANGUAGE=accept_language)

        assert (response.status_code, response["Location"]) == (302, home)
        # Caches must keep the answers for each language apart.
        assert "Accept-Language" in response["Vary"] and "Cookie" in response["Vary"]

    def test_the_language_cookie_wins_over_the_browser(self, client):
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = "ko"

        assert client.get("/", HTTP_ACCEPT_LANGUAGE="en")["Location"] == "/ko/"


class TestOldUrls:
    def test_an_old_page_url_redirects_to_the_prefixed_one(self, client):
        product = ProductFactory()
        old = product.get_absolute_url().removeprefix("/en")

        response = client.get(f"{old}?page=2", HTTP_ACCEPT_LANGUAGE="ko")

        assert response.status_code == 302
        assert response["Location"] == f"/ko{old}?page=2"
        assert client.get(response["Location"]).status_code == 200

    @pytest.mark.parametrize("old", ["/cart/", "/orders/create/", "/payment/process/?order=1"])
    def test_old_shop_urls_redirect(self, client, old):
        response = client.get(old, HTTP_ACCEPT_LANGUAGE="en")

        assert (response.status_code, response["Location"]) == (302, f"/en{old}")

    def test_a_form_posted_to_an_old_url_is_sent_on_with_its_body(self):
        product = ProductFactory(stock=5)
        shopper = Client(enforce_csrf_checks=True)
        shopper.get(product.get_absolute_url())
        token = shopper.cookies[settings.CSRF_COOKIE_NAME].value
        form = {"quantity": "2", "override": "False", "csrfmiddlewaretoken": token}

        moved = shopper.post(f"/cart/add/{product.id}/", form)
        # 307: a browser posts the same form again to the new address, where it is accepted.
        assert (moved.status_code, moved["Location"]) == (307, f"/en/cart/add/{product.id}/")
        added = shopper.post(moved["Location"], form)

        assert added.status_code == 302
        assert shopper.session[settings.CART_SESSION_ID]["items"] == {str(product.id): 2}

    def test_an_unknown_old_url_is_the_404_page_in_the_browser_language(self, client):
        response = client.get("/no/such/page/", HTTP_ACCEPT_LANGUAGE="ko")

        assert response.status_code == 404
        assert '<html lang="ko">' in response.content.decode()
        assert "페이지를 찾을 수 없습니다" in response.content.decode()


class TestSwitcher:
    def test_each_page_links_to_itself_in_the_other_language(self, client):
        links = switch_links(client.get("/en/cart/"))

        assert links == {"ko": "/language/?language=ko&next=%2Fen%2Fcart%2F"}

    def test_switching_keeps_the_page_and_remembers_the_language(self, client):
        product = ProductFactory()
        page = product.get_absolute_url()

        response = client.get(switch_links(client.get(page))["ko"])

        assert (response.status_code, response["Location"]) == (302, "/ko" + page.removeprefix("/en"))
        cookie = response.cookies[settings.LANGUAGE_COOKIE_NAME]
        assert cookie.value == "ko" and cookie["max-age"] == settings.LANGUAGE_COOKIE_AGE
        # Later visits to an unprefixed URL land in Korean, whatever the browser says.
        assert client.get("/", HTTP_ACCEPT_LANGUAGE="en")["Location"] == "/ko/"
        back = client.get(switch_links(client.get(response["Location"]))["en"])
        assert back["Location"] == page
        assert client.get("/", HTTP_ACCEPT_LANGUAGE="ko")["Location"] == "/en/"

    def test_the_query_string_is_kept(self, client):
        response = client.get("/language/", {"language": "ko", "next": "/en/?page=2"})

        assert response["Location"] == "/ko/?page=2"

    def test_a_cached_catalog_page_links_to_each_visitor_s_own_page(self):
        # The list page is cached once for every visitor without a session ("list::1" for both
        # addresses); each gets the switcher pointing at the address they asked for.
        ProductFactory()
        first = switch_links(Client().get("/en/"))["ko"]
        second = switch_links(Client().get("/en/?page=1"))["ko"]

        assert first.endswith("next=%2Fen%2F")
        assert second.endswith("next=%2Fen%2F%3Fpage%3D1")
        assert Client().get(second)["Location"] == "/ko/?page=1"

    @pytest.mark.parametrize(("next_url", "lands_on"), [
        ("/en/no/such/page/", "/ko/no/such/page/"),  # no such page: the same path, other prefix
        ("/en-us/cart/", "/ko/cart/"),  # a regional prefix is the whole first segment
        ("/ko-kr/", "/ko/"),
        ("/", "/ko/"),
        ("https://elsewhere.example/en/", "/ko/"),  # never off the site
        ("//elsewhere.example/", "/ko/"),
        ("", "/ko/"),
    ])
    def test_a_next_that_is_no_shop_page_lands_in_the_language(self, client, next_url, lands_on):
        response = client.get("/language/", {"language": "ko", "next": next_url})

        assert (response.status_code, response["Location"]) == (302, lands_on)

    @pytest.mark.parametrize("language", ["fr", "", "ko-KR"])
    def test_an_unknown_language_is_a_clear_400(self, client, language):
        response = client.get("/language/", {"language": language, "next": "/en/"})

        assert response.status_code == 400
        assert "There is no such language in the shop." in response.content.decode()
        assert settings.LANGUAGE_COOKIE_NAME not in response.cookies

    def test_the_switch_is_a_link_not_a_form(self, client):
        assert client.post("/language/", {"language": "ko"}).status_code == 405


class TestErrorPages:
    def test_the_404_page_is_in_the_page_s_language(self, client):
        korean = client.get("/ko/no/such/page/").content.decode()
        english = client.get("/en/no/such/page/").content.decode()

        assert '<html lang="ko">' in korean and "페이지를 찾을 수 없습니다" in korean
        assert 'href="/ko/"' in korean and "쇼핑몰로 돌아가기" in korean
        assert '<html lang="en">' in english and "Page not found" in english and 'href="/en/"' in english
