"""Demo data for the catalog: categories and products with generated images, for `seed_catalog`."""

from __future__ import annotations

import functools
import io
import itertools
import random
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from django.core.files.base import ContentFile
from django.utils.text import slugify
from PIL import Image, ImageDraw, ImageFont

from apps.shop.models import Category, Product


@dataclass(frozen=True)
class DemoCategory:
    name: str
    slug: str
    # Background of the category's product images, so a list page reads as groups at a glance.
    colour: tuple[int, int, int]
    materials: tuple[str, ...]
    items: tuple[str, ...]


# Product index i (1-based) goes to DEMO_CATEGORIES[(i - 1) % 6], so every category fills up
# evenly whatever N is. Changing these lists renames the products of later runs (but not the
# ones already in a database, which are found by slug).
DEMO_CATEGORIES: tuple[DemoCategory, ...] = (
    DemoCategory(
        name="Home Office", slug="home-office", colour=(52, 101, 164),
        materials=("Walnut", "Oak", "Birch", "Brass", "Steel", "Cork", "Felt", "Bamboo"),
        items=("Desk Lamp", "Monitor Stand", "Pen Holder", "Desk Organizer", "Letter Tray",
               "Bookend Pair", "Cable Box", "Notebook Stand"),
    ),
    DemoCategory(
        name="Kitchen", slug="kitchen", colour=(204, 85, 0),
        materials=("Ceramic", "Cast Iron", "Copper", "Olive Wood", "Stoneware", "Enamel",
                   "Marble", "Glass"),
        items=("Teapot", "Salad Bowl", "Pepper Mill", "Serving Board", "Utensil Jar",
               "Mixing Bowl", "Butter Dish", "Water Carafe"),
    ),
    DemoCategory(
        name="Garden", slug="garden", colour=(78, 154, 6),
        materials=("Terracotta", "Galvanized", "Cedar", "Zinc", "Rattan", "Teak", "Slate",
                   "Willow"),
        items=("Planter", "Watering Can", "Bird Feeder", "Seed Tray", "Garden Trug",
               "Herb Pot", "Plant Stand", "Lantern"),
    ),
    DemoCategory(
        name="Audio", slug="audio", colour=(92, 53, 102),
        materials=("Graphite", "Walnut", "Aluminium", "Matte Black", "Ash", "Silver",
                   "Cherry", "Pocket"),
        items=("Headphones", "Bookshelf Speaker", "Turntable", "Radio", "Earbuds",
               "Soundbar", "Headphone Stand", "Amplifier"),
    ),
    DemoCategory(
        name="Home Textiles", slug="home-textiles", colour=(164, 0, 0),
        materials=("Linen", "Wool", "Cotton", "Velvet", "Cashmere", "Jute", "Waffle",
                   "Herringbone"),
        items=("Throw Blanket", "Cushion Cover", "Bath Towel", "Table Runner", "Rug",
               "Tea Towel Set", "Duvet Cover", "Napkin Set"),
    ),
    DemoCategory(
        name="Outdoor", slug="outdoor", colour=(32, 74, 135),
        materials=("Canvas", "Merino", "Titanium", "Waxed Cotton", "Ripstop", "Leather",
                   "Fleece", "Recycled"),
        items=("Backpack", "Camping Mug", "Water Bottle", "Hammock", "Picnic Blanket",
               "Trail Cap", "Headlamp", "Dry Bag"),
    ),
)

# Once every material/item pair of a category is used, names start again with a style word;
# the first entry is empty so the first 64 names per category stay two words long.
_STYLES = ("", "Classic", "Compact", "Nordic", "Everyday", "Heritage", "Studio", "Travel")

_DESCRIPTION_OPENERS = (
    "Made in small batches by a family workshop.",
    "Designed to be used every day for years.",
    "A quiet, well-made piece that does one job well.",
    "Our best seller in its range, now in a new finish.",
    "Simple lines and honest materials.",
    "Built to be repaired rather than replaced.",
)
_DESCRIPTION_CLOSERS = (
    "Ships in recyclable packaging.",
    "Comes with a two-year guarantee.",
    "Each one varies slightly in colour and grain.",
    "Wipe clean with a damp cloth.",
    "Pairs well with the rest of the collection.",
    "Gift wrapping available at checkout.",
)
_PRICE_CENTS = ("00", "50", "95", "99")

# Products reach the database this many at a time: large enough that 10,000 products take
# a few dozen INSERTs, small enough that the progress bar moves and an interrupted run keeps
# most of its work (the next run tops up from what is there).
BATCH_SIZE = 250

IMAGE_SIZE = 480


@dataclass(frozen=True)
class DemoCatalogSeedResult:
    created: int
    # Categories the new products went into (not every category in the shop).
    categories: int
    total: int


@dataclass(frozen=True)
class DemoProduct:
    index: int
    category: DemoCategory
    name: str
    slug: str
    description: str
    price: Decimal
    stock: int


def demo_product(*, index: int) -> DemoProduct:
    """The demo product number `index` (from 1): the same every time, on every machine."""
    if index < 1:
        raise ValueError(f"Demo products are numbered from 1, not {index}.")
    category = DEMO_CATEGORIES[(index - 1) % len(DEMO_CATEGORIES)]
    rank = (index - 1) // len(DEMO_CATEGORIES)
    item = category.items[rank % len(category.items)]
    rank //= len(category.items)
    material = category.materials[rank % len(category.materials)]
    rank //= len(category.materials)
    style = _STYLES[rank % len(_STYLES)]
    name = " ".join(word for word in (style, material, item) if word)
    # A generator of its own per product: the values of product i do not depend on how many
    # products came before it in this run, and nothing else in the process moves them.
    rng = random.Random(index)
    return DemoProduct(
        index=index,
        category=category,
        name=name,
        # The index makes the slug unique among demo products; it is how a later run
        # recognises the products an earlier one made.
        slug=f"{slugify(name)}-{index}",
        description=f"{rng.choice(_DESCRIPTION_OPENERS)} {rng.choice(_DESCRIPTION_CLOSERS)}",
        price=Decimal(f"{rng.randint(4, 249)}.{rng.choice(_PRICE_CENTS)}"),
        stock=rng.randint(5, 100),
    )


def demo_catalog_seed(
    *, products: int, on_progress: Callable[[int, int], None] | None = None
) -> DemoCatalogSeedResult:
    """Add demo products until the catalog holds `products` products; return what was done.

    Products already in the catalog count towards the total, whoever made them; demo products
    are recognised by their slug, so running again creates no duplicates and a larger number
    adds only what is missing. Each new product gets a generated image in the default storage.
    `on_progress(done, total)` is called before the first product and after each batch.
    Two runs at the same time can both decide to create the same products: run one at a time.
    """
    if products < 0:
        raise ValueError(f"The number of products cannot be negative ({products}).")
    existing = Product.objects.count()
    missing = products - existing
    if missing <= 0:
        return DemoCatalogSeedResult(created=0, categories=0, total=existing)

    plans = _missing_demo_products(up_to=products, wanted=missing)
    categories = _categories_for(plans=plans)
    if on_progress is not None:
        on_progress(0, len(plans))
    done = 0
    for start in range(0, len(plans), BATCH_SIZE):
        batch = plans[start:start + BATCH_SIZE]
        Product.objects.bulk_create(
            [_product_with_image(plan=plan, category=categories[plan.category.slug])
             for plan in batch],
            batch_size=BATCH_SIZE,
        )
        done += len(batch)
        if on_progress is not None:
            on_progress(done, len(plans))
    return DemoCatalogSeedResult(
        created=len(plans), categories=len(categories), total=Product.objects.count()
    )


def _missing_demo_products(*, up_to: int, wanted: int) -> list[DemoProduct]:
    # Loading every slug is one query and bounded: we only get here when the catalog holds
    # fewer than `up_to` products. Demo products moved to another category still count.
    # Among indexes 1..up_to at most that many slugs are taken, so `wanted` are always free.
    taken = set(Product.objects.values_list("slug", flat=True))
    candidates = (demo_product(index=index) for index in range(1, up_to + 1))
    return list(itertools.islice((plan for plan in candidates if plan.slug not in taken), wanted))


def _categories_for(*, plans: list[DemoProduct]) -> dict[str, Category]:
    # Only the categories the new products need, so a small N leaves no empty categories in
    # the navigation. A category with a demo slug made by hand is used as it is.
    needed = {plan.category.slug: plan.category for plan in plans}
    found = {category.slug: category
             for category in Category.objects.filter(slug__in=needed)}
    for slug, demo in needed.items():
        if slug not in found:
            found[slug] = Category.objects.create(name=demo.name, slug=slug)
    return found


def _product_with_image(*, plan: DemoProduct, category: Category) -> Product:
    product = Product(
        category=category,
        name=plan.name,
        slug=plan.slug,
        description=plan.description,
        price=plan.price,
        stock=plan.stock,
        available=True,
    )
    image = Product._meta.get_field("image")
    # upload_to decides the folder as it does for an uploaded file; the file name is the slug,
    # so the same product always gets the same name.
    name = image.generate_filename(product, f"{plan.slug}.png")
    # The picture depends only on the product, so a file left under this name by an earlier
    # run (whose rows were since deleted) is the same picture: reuse it instead of letting the
    # storage invent a second name beside it.
    if not image.storage.exists(name):
        name = image.storage.save(name, ContentFile(_render_image(plan=plan)))
    product.image.name = name
    return product


def _render_image(*, plan: DemoProduct) -> bytes:
    # Drawn in greyscale (0 = background, 255 = text) and turned into a palette image whose 256
    # entries run from the category colour to white: the text keeps its anti-aliasing while
    # the PNG holds one byte per pixel, which is what keeps 10,000 images within seconds.
    picture = Image.new("L", (IMAGE_SIZE, IMAGE_SIZE), 0)
    draw = ImageDraw.Draw(picture)
    initials = "".join(word[0] for word in plan.name.split())[:3].upper()
    draw.text((IMAGE_SIZE // 2, IMAGE_SIZE * 9 // 20), initials, fill=255, anchor="mm",
              font=_font(size=IMAGE_SIZE // 3))
    draw.text((IMAGE_SIZE // 2, IMAGE_SIZE * 7 // 8), plan.name, fill=255, anchor="mm",
              font=_font(size=IMAGE_SIZE // 16))
    picture.putpalette(_palette(colour=plan.category.colour))
    out = io.BytesIO()
    picture.save(out, "PNG")
    return out.getvalue()


@functools.cache
def _font(*, size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    # Pillow's bundled font: no font files to ship in the Lambda package. Without FreeType it
    # falls back to a small bitmap font, which is still a valid picture.
    return ImageFont.load_default(size=size)


@functools.cache
def _palette(*, colour: tuple[int, int, int]) -> tuple[int, ...]:
    return tuple(
        round(channel + (255 - channel) * level / 255)
        for level in range(256)
        for channel in colour
    )
