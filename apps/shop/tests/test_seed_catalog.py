"""Tests of `manage.py seed_catalog` and the demo catalog service behind it."""

import io

import pytest
from django.core.files.storage import default_storage
from django.core.management import CommandError, call_command
from PIL import Image

from apps.shop.demo_catalog import DEMO_CATEGORIES, IMAGE_SIZE, demo_product
from apps.shop.models import RESERVED_CATEGORY_SLUGS, Category, Product
from apps.shop.tests.factories import ProductFactory
from apps.shop.tests.languages import get_in


def seed(products: int | None = None) -> str:
    out = io.StringIO()
    options = {} if products is None else {"products": products}
    call_command("seed_catalog", stdout=out, **options)
    return out.getvalue()


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def catalog() -> list[tuple]:
    return list(
        Product.objects.order_by("slug_en")
        .values_list("slug_en", "slug_ko", "name_en", "name_ko", "category__slug_en", "description_en",
                     "description_ko", "price", "stock")
    )


@pytest.mark.django_db
class TestSeedCatalog:
    def test_creates_the_products_asked_for_spread_over_several_categories(self):
        output = seed(12)

        assert Product.objects.count() == 12
        assert Category.objects.count() == 6
        assert all(category.products.count() == 2 for category in Category.objects.all())
        assert output == "Created 12 products in 6 categories; the catalog now has 12.\n"

    def test_makes_48_products_by_default(self):
        output = seed()

        assert Product.objects.count() == 48
        assert output == "Created 48 products in 6 categories; the catalog now has 48.\n"

    def test_every_new_product_has_an_image_in_storage_that_pillow_opens(self):
        seed(7)

        for product in Product.objects.all():
            assert product.image.name.endswith(f"/{product.slug}.png")
            assert default_storage.exists(product.image.name)
            with default_storage.open(product.image.name) as stored, Image.open(stored) as picture:
                picture.load()
                assert picture.format == "PNG"
                assert picture.size == (IMAGE_SIZE, IMAGE_SIZE)

    def test_products_of_different_categories_get_different_colours(self):
        seed(2)

        first, second = (
            Product.objects.get(slug_en=demo_product(index=index).slug[0]) for index in (1, 2)
        )
        colours = []
        for product in (first, second):
            with default_storage.open(product.image.name) as stored, Image.open(stored) as picture:
                colours.append(picture.convert("RGB").getpixel((0, 0)))
        assert first.category != second.category
        assert colours[0] != colours[1]

    def test_running_twice_creates_no_duplicates(self):
        seed(12)
        before = catalog()

        output = seed(12)

        assert catalog() == before
        assert "nothing to do" in output

    def test_a_larger_number_adds_only_the_missing_products(self):
        seed(6)
        first_ids = set(Product.objects.values_list("id", flat=True))

        output = seed(10)

        assert Product.objects.count() == 10
        assert first_ids <= set(Product.objects.values_list("id", flat=True))
        assert Product.objects.values("slug_en").distinct().count() == 10
        assert output == "Created 4 products in 4 categories; the catalog now has 10.\n"

    def test_a_number_at_or_below_the_current_count_does_nothing(self):
        seed(10)
        before = catalog()

        output = seed(4)

        assert catalog() == before
        assert output == (
            "The catalog already has 10 products, at least the 4 asked for; nothing to do.\n"
        )

    def test_products_made_by_hand_count_towards_the_number(self):
        ProductFactory.create_batch(3)

        output = seed(5)

        assert Product.objects.count() == 5
        assert output == "Created 2 products in 2 categories; the catalog now has 5.\n"

    def test_shows_a_progress_bar_on_a_terminal_only(self):
        terminal = Terminal()

        call_command("seed_catalog", products=3, stdout=terminal)

        bar, summary = terminal.getvalue().rsplit("\n", 2)[:2]
        assert "3/3" in bar and "\r" in bar
        assert summary == "Created 3 products in 3 categories; the catalog now has 3."

    def test_a_negative_number_is_refused(self):
        with pytest.raises(CommandError, match="--products must be 0 or more, not -1"):
            seed(-1)

        assert not Product.objects.exists()

    def test_names_prices_and_stock_are_the_same_on_every_run(self):
        seed(12)
        first_run = catalog()
        Product.objects.all().delete()

        seed(12)

        assert catalog() == first_run
        assert Product.objects.get(slug_en="walnut-desk-lamp-1").name == "Walnut Desk Lamp"

    def test_no_demo_category_takes_a_path_of_another_app(self):
        assert not {slug for category in DEMO_CATEGORIES for slug in category.slug} & RESERVED_CATEGORY_SLUGS


@pytest.mark.django_db
class TestSeedCatalogInKorean:
    def test_products_and_categories_get_korean_names_descriptions_and_slugs(self):
        seed(12)

        lamp = Product.objects.select_related("category").get(slug_en="walnut-desk-lamp-1")
        assert (lamp.name_ko, lamp.slug_ko) == ("월넛 책상 램프", "월넛-책상-램프-1")
        assert (lamp.category.name_ko, lamp.category.slug_ko) == ("홈 오피스", "홈-오피스")
        assert not Product.objects.filter(name_ko="").exists()
        assert not Product.objects.filter(description_ko="").exists()
        assert not Category.objects.filter(slug_ko="").exists()

    def test_every_demo_text_has_its_korean_one(self):
        for index in range(1, 6 * 8 * 8 * 2 + 1):
            plan = demo_product(index=index)
            english, korean = plan.name
            assert korean and korean != english
            assert plan.slug[1].endswith(f"-{index}") and plan.description[1]

    def test_every_category_is_valid_in_both_languages(self):
        seed(6)

        for category in Category.objects.all():
            category.full_clean()

    def test_the_korean_pages_of_the_demo_catalog_resolve(self, client):
        seed(6)
        product = Product.objects.get(slug_en="walnut-desk-lamp-1")
        assert get_in("ko", client, product.get_absolute_url).status_code == 200
        assert get_in("ko", client, product.category.get_absolute_url).status_code == 200

    def test_demo_rows_seeded_in_english_only_get_their_korean_text_once(self):
        seed(7)
        Product.objects.update(name_ko="", slug_ko="", description_ko="")
        Category.objects.update(name_ko="", slug_ko="")
        by_hand = ProductFactory(name_en="Teapot", slug_en="teapot-3")

        output = seed(8)

        assert "Gave 7 demo products their Korean text." in output
        assert Product.objects.get(slug_en="walnut-desk-lamp-1").name_ko == "월넛 책상 램프"
        assert Category.objects.get(slug_en="home-office").slug_ko == "홈-오피스"
        by_hand.refresh_from_db()
        assert by_hand.name_ko == ""
        assert "Korean" not in seed(8)
