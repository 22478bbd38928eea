"""The catalog in English and Korean: fallbacks, translated slugs and their redirects, the cache.

A Korean text left blank shows the English one (name, description, slug). A page asked for by
the other language's slug, or a stale one, is redirected (302) to its URL in the language
of the request; Korean slugs resolve raw and percent-encoded.
"""

import json
from urllib.parse import quote, unquote

import lxml.html
import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from apps.shop.models import Category, Product
from apps.shop.tests.factories import CategoryFactory, ProductFactory
from apps.shop.tests.languages import get_in, url_in
from apps.shop.tests.pages import form_fields


@pytest.fixture(autouse=True)
def _no_language_left_active():
    yield
    translation.deactivate()


@pytest.fixture
def lamps(db):
    return CategoryFactory(name_en="Lamps", slug_en="lamps", name_ko="조명", slug_ko="조명")


@pytest.fixture
def lamp(lamps):
    return ProductFactory(category=lamps, name_en="Walnut Desk Lamp", slug_en="walnut-desk-lamp",
                          name_ko="월넛 책상 램프", slug_ko="월넛-책상-램프",
                          description_en="Warm light.", description_ko="따뜻한 빛.")


def moved_to(response) -> str:
    assert response.status_code == 302, response.status_code
    return response["Location"]


@pytest.mark.django_db
class TestTranslatedText:
    def test_each_language_reads_its_own_text(self, lamp):
        with translation.override("ko"):
            assert (lamp.name, lamp.slug, lamp.description) == ("월넛 책상 램프", "월넛-책상-램프",
                                                                "따뜻한 빛.")
            assert lamp.category.name == "조명"
        with translation.override("en"):
            assert (lamp.name, lamp.slug, lamp.description) == ("Walnut Desk Lamp", "walnut-desk-lamp",
                                                                "Warm light.")

    def test_a_blank_korean_text_falls_back_to_the_english(self):
        product = ProductFactory(name_en="Oak Stool", slug_en="oak-stool", description_en="Sturdy.",
                                 category=CategoryFactory(name_en="Seats", slug_en="seats"))
        with translation.override("ko"):
            assert (product.name, product.slug, product.description) == ("Oak Stool", "oak-stool", "Sturdy.")
            assert (product.category.name, product.category.slug) == ("Seats", "seats")
            assert str(product) == "Oak Stool"

    def test_a_language_the_catalog_has_no_columns_for_reads_the_english(self, lamp):
        with translation.override("fr"):
            assert lamp.name == "Walnut Desk Lamp"

    def test_assigning_the_name_sets_the_english_one_whatever_language_is_active(self, lamp):
        with translation.override("ko"):
            lamp.name = "Walnut Lamp"
        assert (lamp.name_en, lamp.name_ko) == ("Walnut Lamp", "월넛 책상 램프")

    def test_the_url_is_the_active_languages(self, lamp):
        english = url_in("en", lamp.get_absolute_url)
        korean = url_in("ko", lamp.get_absolute_url)
        assert english.endswith(f"/{lamp.id}/walnut-desk-lamp/")
        # reverse() percent-encodes the Hangul, as a URL must be sent.
        assert korean.endswith(f"/{lamp.id}/{quote('월넛-책상-램프')}/")
        assert unquote(url_in("ko", lamp.category.get_absolute_url)).endswith("/조명/")


@pytest.mark.django_db
class TestPagesInBothLanguages:
    def test_the_korean_product_page_shows_the_korean_text(self, client, lamp):
        body = get_in("ko", client, lamp.get_absolute_url).content.decode()
        assert "월넛 책상 램프" in body and "따뜻한 빛." in body and "조명" in body
        assert "Walnut Desk Lamp" not in body

    def test_the_english_product_page_shows_the_english_text(self, client, lamp):
        body = get_in("en", client, lamp.get_absolute_url).content.decode()
        assert "Walnut Desk Lamp" in body and "Warm light." in body
        assert "월넛" not in body

    def test_the_korean_list_links_each_product_by_its_korean_slug(self, client, lamp):
        response = get_in("ko", client, lambda: reverse("shop:product_list"))
        assert url_in("ko", lamp.get_absolute_url) in response.content.decode()
        assert '<a class="product-name" href="' in response.content.decode()
        assert "data-product-text>월넛 책상 램프</a>" in response.content.decode()

    def test_an_untranslated_product_shows_its_english_text_on_a_korean_page(self, client):
        product = ProductFactory(name_en="Oak Stool", description_en="Sturdy.")
        response = get_in("ko", client, product.get_absolute_url)
        assert response.status_code == 200
        assert "Oak Stool" in response.content.decode() and "Sturdy." in response.content.decode()

    def test_a_korean_category_slug_resolves(self, client, lamp, lamps):
        response = get_in("ko", client, lamps.get_absolute_url)
        assert response.status_code == 200
        assert list(response.context["products"]) == [lamp]

    @pytest.mark.parametrize("spelling", ["percent-encoded", "raw"])
    def test_a_korean_slug_resolves_percent_encoded_or_raw(self, client, lamp, spelling):
        url = url_in("ko", lamp.get_absolute_url)
        response = get_in("ko", client, url if spelling == "percent-encoded" else unquote(url))
        assert response.status_code == 200
        assert response.context["product"] == lamp


@pytest.mark.django_db
class TestSlugRedirects:
    def test_the_english_slug_on_a_korean_page_moves_to_the_korean_url(self, client, lamp):
        english_slug_in_korean = url_in("ko", lambda: reverse("shop:product_detail",
                                                            args=[lamp.id, "walnut-desk-lamp"]))
        assert moved_to(get_in("ko", client, english_slug_in_korean)) == url_in("ko", lamp.get_absolute_url)

    def test_the_korean_slug_on_an_english_page_moves_to_the_english_url(self, client, lamp):
        korean_slug_in_english = url_in("en", lambda: reverse("shop:product_detail",
                                                            args=[lamp.id, "월넛-책상-램프"]))
        assert moved_to(get_in("en", client, korean_slug_in_english)) == url_in("en", lamp.get_absolute_url)

    @pytest.mark.parametrize("language", ["en", "ko"])
    def test_a_stale_product_slug_moves_to_the_current_url(self, client, lamp, language):
        stale = url_in(language, lambda: reverse("shop:product_detail", args=[lamp.id, "old-name"]))
        assert moved_to(get_in(language, client, stale)) == url_in(language, lamp.get_absolute_url)

    def test_the_moved_page_is_the_product_page(self, client, lamp):
        stale = url_in("ko", lambda: reverse("shop:product_detail", args=[lamp.id, "old-name"]))
        assert get_in("ko", client, moved_to(get_in("ko", client, stale))).status_code == 200

    def test_the_english_category_slug_on_a_korean_page_moves_to_the_korean_url(self, client, lamps):
        english = url_in("ko", lambda: reverse("shop:product_list_by_category", args=["lamps"]))
        assert moved_to(get_in("ko", client, english)) == url_in("ko", lamps.get_absolute_url)

    def test_the_korean_category_slug_on_an_english_page_moves_to_the_english_url(self, client, lamps):
        korean = url_in("en", lambda: reverse("shop:product_list_by_category", args=["조명"]))
        assert moved_to(get_in("en", client, korean)) == url_in("en", lamps.get_absolute_url)

    def test_a_moved_category_page_keeps_its_page_number(self, client, lamps):
        ProductFactory.create_batch(13, category=lamps)
        english = url_in("ko", lambda: reverse("shop:product_list_by_category", args=["lamps"]))
        korean = url_in("ko", lamps.get_absolute_url)
        assert moved_to(get_in("ko", client, english, page="2")) == korean + "?page=2"

    def test_an_untranslated_category_answers_its_english_slug_in_korean(self, client):
        seats = CategoryFactory(name_en="Seats", slug_en="seats")
        page = get_in("ko", client, lambda: reverse("shop:product_list_by_category", args=["seats"]))
        assert page.status_code == 200
        assert url_in("ko", seats.get_absolute_url).endswith("/seats/")

    @pytest.mark.parametrize("language", ["en", "ko"])
    def test_an_unknown_slug_is_still_404(self, client, lamps, language):
        assert get_in(language, client, lambda: reverse("shop:product_list_by_category",
                                                        args=["없는-분류"])).status_code == 404

    def test_the_redirect_costs_the_product_query_only(self, client, lamp, django_assert_num_queries):
        stale = url_in("ko", lambda: reverse("shop:product_detail", args=[lamp.id, "old-name"]))
        with django_assert_num_queries(1):
            moved_to(get_in("ko", Client(), stale))


@pytest.mark.django_db
class TestKoreanSlugs:
    @pytest.mark.parametrize("slug", ["cart", "orders", "admin", "payment"])
    def test_slugs_of_other_pages_are_refused_in_korean_too(self, slug):
        with pytest.raises(ValidationError) as refused:
            Category(name_en="Clash", slug_en="clash", name_ko="충돌", slug_ko=slug).full_clean()
        assert "slug_ko" in refused.value.message_dict

    def test_a_korean_slug_is_a_slug(self):
        with pytest.raises(ValidationError) as refused:
            Category(name_en="Lamps", slug_en="lamps", slug_ko="조명 기구").full_clean()
        assert "slug_ko" in refused.value.message_dict

    def test_two_categories_cannot_share_a_korean_slug(self, lamps):
        with pytest.raises(ValidationError) as refused:
            Category(name_en="Lights", slug_en="lights", name_ko="조명", slug_ko="조명").full_clean()
        assert "slug_ko" in refused.value.message_dict
        with pytest.raises(IntegrityError), transaction.atomic():
            Category.objects.create(name_en="Lights", slug_en="lights", slug_ko="조명")

    def test_a_korean_slug_cannot_be_another_categorys_english_slug(self, lamps):
        with pytest.raises(ValidationError) as refused:
            Category(name_en="Lights", slug_en="lights", slug_ko="lamps").full_clean()
        assert "slug_ko" in refused.value.message_dict

    def test_an_english_slug_cannot_be_another_categorys_korean_slug(self, lamps):
        with pytest.raises(ValidationError) as refused:
            Category(name_en="Lights", slug_en="조명").full_clean()
        assert "slug_en" in refused.value.message_dict

    def test_any_number_of_categories_may_leave_the_korean_slug_blank(self):
        CategoryFactory.create_batch(3)
        Category(name_en="Seats", slug_en="seats").full_clean()

    def test_a_category_may_keep_its_own_slug_in_both_languages(self, lamps):
        lamps.slug_ko = "lamps"
        lamps.full_clean()


@pytest.mark.django_db
class TestCatalogCacheLanguages:
    """Whole pages are cached for first visitors: a Korean one is never served in English."""

    @pytest.mark.parametrize("page", ["list", "category", "detail"])
    def test_each_language_gets_its_own_cached_page(self, lamp, page, django_assert_num_queries):
        # The same slugs in both languages: only the language tells the two pages apart.
        Product.objects.filter(id=lamp.id).update(slug_ko="")
        Category.objects.filter(id=lamp.category.id).update(slug_ko="")
        lamp.refresh_from_db()
        lamp.category.refresh_from_db()
        url = {"list": lambda: reverse("shop:product_list"), "category": lamp.category.get_absolute_url,
               "detail": lamp.get_absolute_url}[page]
        english = get_in("en", Client(), url).content.decode()
        with django_assert_num_queries(0):  # the page is cached: the test shows the cache at work
            assert "Walnut Desk Lamp" in get_in("en", Client(), url).content.decode()

        korean = get_in("ko", Client(), url).content.decode()

        assert "월넛 책상 램프" in korean and "월넛" not in english
        with django_assert_num_queries(0):
            assert "월넛 책상 램프" in get_in("ko", Client(), url).content.decode()

    @pytest.mark.parametrize("language", ["en", "ko"])
    def test_a_changed_translation_forgets_the_pages_of_both_languages(self, lamp, language):
        for cached in ("en", "ko"):
            get_in(cached, Client(), lamp.get_absolute_url)

        lamp.name_en, lamp.name_ko = "Walnut Lamp", "월넛 램프"
        lamp.save()

        body = get_in(language, Client(), lamp.get_absolute_url).content.decode()
        assert {"en": "Walnut Lamp", "ko": "월넛 램프"}[language] in body


@pytest.mark.django_db
class TestAdminInBothLanguages:
    CHANGE_FORM = '//form[@id="product_form"]'

    def test_staff_edit_the_korean_text_and_only_it_is_written(self, admin_client, lamp):
        url = reverse("admin:shop_product_change", args=[lamp.id])
        shown = form_fields(admin_client.get(url), self.CHANGE_FORM)
        assert (shown["name_en"], shown["name_ko"]) == ("Walnut Desk Lamp", "월넛 책상 램프")

        with CaptureQueriesContext(transaction.get_connection()) as queries:
            response = admin_client.post(url, {**shown, "name_ko": "호두나무 책상 램프",
                                               "slug_ko": "호두나무-책상-램프", "_save": "Save"})

        assert response.status_code == 302
        lamp.refresh_from_db()
        assert (lamp.name_en, lamp.name_ko, lamp.slug_ko) == ("Walnut Desk Lamp", "호두나무 책상 램프",
                                                             "호두나무-책상-램프")
        [update] = [q["sql"] for q in queries if q["sql"].startswith('UPDATE "shop_product"')]
        assert '"name_ko"' in update and '"slug_ko"' in update
        assert '"name_en"' not in update and '"description_en"' not in update

    def test_staff_add_a_category_in_both_languages(self, admin_client):
        response = admin_client.post(reverse("admin:shop_category_add"), {
            "name_en": "Lamps", "slug_en": "lamps", "name_ko": "조명", "slug_ko": "조명"})
        assert response.status_code == 302
        assert Category.objects.values_list("slug_en", "slug_ko").get() == ("lamps", "조명")

    def test_a_reserved_korean_slug_is_refused_with_a_message(self, admin_client):
        response = admin_client.post(reverse("admin:shop_category_add"), {
            "name_en": "Carts", "slug_en": "carts", "name_ko": "장바구니", "slug_ko": "cart"})
        assert response.status_code == 200
        assert "is used by another part of the shop" in response.content.decode()
        assert not Category.objects.exists()

    @pytest.mark.parametrize("page", ["admin:shop_product_add", "admin:shop_category_add"])
    def test_the_korean_slug_is_prepopulated_from_the_korean_name_keeping_hangul(self, admin_client, page):
        body = admin_client.get(reverse(page)).content.decode()
        (fields,) = lxml.html.fromstring(body).xpath("//script/@data-prepopulated-fields")
        by_slug = {field["name"]: (field["dependency_list"], field["allowUnicode"])
                   for field in json.loads(fields)}
        assert by_slug == {"slug_en": (["name_en"], False), "slug_ko": (["name_ko"], True)}

    def test_staff_search_products_by_their_korean_name(self, admin_client, lamp):
        ProductFactory(name_en="Teapot")
        response = admin_client.get(reverse("admin:shop_product_changelist"), {"q": "책상"})
        assert list(response.context["cl"].result_list) == [lamp]
