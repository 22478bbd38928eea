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

# A text of the demo catalog in English and in Korean, indexed by EN and KO.
Words = tuple[str, str]
EN, KO = 0, 1


@dataclass(frozen=True)
class DemoCategory:
    name: Words
    slug: Words
    # Background of the category's product images, so a list page reads as groups at a glance.
    colour: tuple[int, int, int]
    materials: tuple[Words, ...]
    items: tuple[Words, ...]


# Product index i (1-based) goes to DEMO_CATEGORIES[(i - 1) % 6], so every category fills up
# evenly whatever N is. Changing these lists renames the products of later runs (but not the
# ones already in a database, which are found by their English slug).
DEMO_CATEGORIES: tuple[DemoCategory, ...] = (
    DemoCategory(
        name=("Home Office", "홈 오피스"), slug=("home-office", "홈-오피스"), colour=(52, 101, 164),
        materials=(("Walnut", "월넛"), ("Oak", "오크"), ("Birch", "자작나무"), ("Brass", "황동"),
                   ("Steel", "스틸"), ("Cork", "코르크"), ("Felt", "펠트"), ("Bamboo", "대나무")),
        items=(("Desk Lamp", "책상 램프"), ("Monitor Stand", "모니터 받침대"), ("Pen Holder", "펜꽂이"),
               ("Desk Organizer", "책상 정리함"), ("Letter Tray", "서류 트레이"),
               ("Bookend Pair", "북엔드 세트"), ("Cable Box", "케이블 정리함"),
               ("Notebook Stand", "노트북 거치대")),
    ),
    DemoCategory(
        name=("Kitchen", "주방"), slug=("kitchen", "주방"), colour=(204, 85, 0),
        materials=(("Ceramic", "세라믹"), ("Cast Iron", "무쇠"), ("Copper", "구리"),
                   ("Olive Wood", "올리브나무"), ("Stoneware", "스톤웨어"), ("Enamel", "법랑"),
                   ("Marble", "대리석"), ("Glass", "유리")),
        items=(("Teapot", "찻주전자"), ("Salad Bowl", "샐러드 볼"), ("Pepper Mill", "후추 그라인더"),
               ("Serving Board", "서빙 보드"), ("Utensil Jar", "조리도구 꽂이"), ("Mixing Bowl", "믹싱 볼"),
               ("Butter Dish", "버터 접시"), ("Water Carafe", "워터 카라프")),
    ),
    DemoCategory(
        name=("Garden", "정원"), slug=("garden", "정원"), colour=(78, 154, 6),
        materials=(("Terracotta", "테라코타"), ("Galvanized", "아연도금"), ("Cedar", "삼나무"),
                   ("Zinc", "아연"), ("Rattan", "라탄"), ("Teak", "티크"), ("Slate", "슬레이트"),
                   ("Willow", "버드나무")),
        items=(("Planter", "화분"), ("Watering Can", "물뿌리개"), ("Bird Feeder", "새 모이통"),
               ("Seed Tray", "모종판"), ("Garden Trug", "정원 바구니"), ("Herb Pot", "허브 화분"),
               ("Plant Stand", "화분 받침대"), ("Lantern", "랜턴")),
    ),
    DemoCategory(
        name=("Audio", "오디오"), slug=("audio", "오디오"), colour=(92, 53, 102),
        materials=(("Graphite", "그라파이트"), ("Walnut", "월넛"), ("Aluminium", "알루미늄"),
                   ("Matte Black", "무광 블랙"), ("Ash", "애쉬"), ("Silver", "실버"), ("Cherry", "체리"),
                   ("Pocket", "포켓")),
        items=(("Headphones", "헤드폰"), ("Bookshelf Speaker", "북쉘프 스피커"), ("Turntable", "턴테이블"),
               ("Radio", "라디오"), ("Earbuds", "이어폰"), ("Soundbar", "사운드바"),
               ("Headphone Stand", "헤드폰 거치대"), ("Amplifier", "앰프")),
    ),
    DemoCategory(
        name=("Home Textiles", "홈 패브릭"), slug=("home-textiles", "홈-패브릭"), colour=(164, 0, 0),
        materials=(("Linen", "린넨"), ("Wool", "울"), ("Cotton", "코튼"), ("Velvet", "벨벳"),
                   ("Cashmere", "캐시미어"), ("Jute", "황마"), ("Waffle", "와플"), ("Herringbone", "헤링본")),
        items=(("Throw Blanket", "담요"), ("Cushion Cover", "쿠션 커버"), ("Bath Towel", "목욕 수건"),
               ("Table Runner", "테이블 러너"), ("Rug", "러그"), ("Tea Towel Set", "행주 세트"),
               ("Duvet Cover", "이불 커버"), ("Napkin Set", "냅킨 세트")),
    ),
    DemoCategory(
        name=("Outdoor", "아웃도어"), slug=("outdoor", "아웃도어"), colour=(32, 74, 135),
        materials=(("Canvas", "캔버스"), ("Merino", "메리노"), ("Titanium", "티타늄"),
                   ("Waxed Cotton", "왁스 코튼"), ("Ripstop", "립스탑"), ("Leather", "가죽"),
                   ("Fleece", "플리스"), ("Recycled", "재활용")),
        items=(("Backpack", "배낭"), ("Camping Mug", "캠핑 머그"), ("Water Bottle", "물병"),
               ("Hammock", "해먹"), ("Picnic Blanket", "피크닉 매트"), ("Trail Cap", "트레일 캡"),
               ("Headlamp", "헤드랜턴"), ("Dry Bag", "방수 가방")),
    ),
)

# Once every material/item pair of a category is used, names start again with a style word;
# the first entry is empty so the first 64 names per category stay two words long.
_STYLES: tuple[Words, ...] = (
    ("", ""), ("Classic", "클래식"), ("Compact", "컴팩트"), ("Nordic", "노르딕"),
    ("Everyday", "데일리"), ("Heritage", "헤리티지"), ("Studio", "스튜디오"), ("Travel", "트래블"),
)

_DESCRIPTION_OPENERS: tuple[Words, ...] = (
    ("Made in small batches by a family workshop.", "가족이 운영하는 공방에서 소량씩 만듭니다."),
    ("Designed to be used every day for years.", "오랜 세월 매일 쓰도록 디자인했습니다."),
    ("A quiet, well-made piece that does one job well.",
     "한 가지 쓰임을 잘 해내는, 차분하고 튼튼한 제품입니다."),
    ("Our best seller in its range, now in a new finish.",
     "같은 라인에서 가장 많이 팔린 제품이 새로운 마감으로 나왔습니다."),
    ("Simple lines and honest materials.", "단순한 선과 정직한 소재로 만들었습니다."),
    ("Built to be repaired rather than replaced.", "바꾸기보다 고쳐 쓰도록 만들었습니다."),
)
_DESCRIPTION_CLOSERS: tuple[Words, ...] = (
    ("Ships in recyclable packaging.", "재활용할 수 있는 포장으로 배송됩니다."),
    ("Comes with a two-year guarantee.", "2년 품질 보증이 함께 제공됩니다."),
    ("Each one varies slightly in colour and grain.", "제품마다 색과 나뭇결이 조금씩 다릅니다."),
    ("Wipe clean with a damp cloth.", "젖은 천으로 닦아 주세요."),
    ("Pairs well with the rest of the collection.", "같은 컬렉션의 다른 제품과 잘 어울립니다."),
    ("Gift wrapping available at checkout.", "주문할 때 선물 포장을 선택할 수 있습니다."),
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
    # Demo products seeded before the catalog spoke Korean that got their Korean text now.
    translated: int = 0


@dataclass(frozen=True)
class DemoProduct:
    index: int
    category: DemoCategory
    name: Words
    slug: Words
    description: Words
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
    name = _both(lambda language: " ".join(
        word for word in (style[language], material[language], item[language]) if word))
    # A generator of its own per product: the values of product i do not depend on how many
    # products came before it in this run, and nothing else in the process moves them.
    rng = random.Random(index)
    opener, closer = rng.choice(_DESCRIPTION_OPENERS), rng.choice(_DESCRIPTION_CLOSERS)
    return DemoProduct(
        index=index,
        category=category,
        name=name,
        # The index makes the slug unique among demo products; it is how a later run
        # recognises the products an earlier one made (by the English one).
        slug=_both(lambda language: f"{slugify(name[language], allow_unicode=True)}-{index}"),
        description=_both(lambda language: f"{opener[language]} {closer[language]}"),
        price=Decimal(f"{rng.randint(4, 249)}.{rng.choice(_PRICE_CENTS)}"),
        stock=rng.randint(5, 100),
    )


def _both(text: Callable[[int], str]) -> Words:
    return text(EN), text(KO)


def demo_catalog_seed(
    *, products: int, on_progress: Callable[[int, int], None] | None = None
) -> DemoCatalogSeedResult:
    """Add demo products until the catalog holds `products` products; return what was done.

    Products already in the catalog count towards the total, whoever made them; demo products
    are recognised by their English slug, so running again creates no duplicates and a larger
    number adds only what is missing. Each new product gets a generated image in the default
    storage. Demo rows an earlier run made in English only get their Korean text.
    `on_progress(done, total)` is called before the first product and after each batch.
    Two runs at the same time can both decide to create the same products: run one at a time.
    """
    if products < 0:
        raise ValueError(f"The number of products cannot be negative ({products}).")
    translated = _korean_for_earlier_demo_rows()
    existing = Product.objects.count()
    missing = products - existing
    if missing <= 0:
        return DemoCatalogSeedResult(created=0, categories=0, total=existing, translated=translated)

    plans = _missing_demo_products(up_to=products, wanted=missing)
    categories = _categories_for(plans=plans)
    if on_progress is not None:
        on_progress(0, len(plans))
    done = 0
    for start in range(0, len(plans), BATCH_SIZE):
        batch = plans[start:start + BATCH_SIZE]
        Product.objects.bulk_create(
            [_product_with_image(plan=plan, category=categories[plan.category.slug[EN]])
             for plan in batch],
            batch_size=BATCH_SIZE,
        )
        done += len(batch)
        if on_progress is not None:
            on_progress(done, len(plans))
    return DemoCatalogSeedResult(
        created=len(plans), categories=len(categories), total=Product.objects.count(),
        translated=translated,
    )


def _korean_for_earlier_demo_rows() -> int:
    """Give the demo rows seeded before the catalog spoke Korean their Korean text; how many.

    Only rows whose Korean name is blank and whose English slug is a demo one: whatever staff
    translated, or made themselves, is left alone. On a catalog seeded since, one query that
    finds nothing.
    """
    demo_categories = {category.slug[EN]: category for category in DEMO_CATEGORIES}
    categories = list(Category.objects.filter(name_ko="", slug_en__in=demo_categories))
    for category in categories:
        demo = demo_categories[category.slug_en]
        category.name_ko, category.slug_ko = demo.name[KO], demo.slug[KO]
    Category.objects.bulk_update(categories, ["name_ko", "slug_ko"])
    products = []
    for product in Product.objects.filter(name_ko="").only("id", "slug_en"):
        index = product.slug_en.rpartition("-")[2]
        plan = demo_product(index=int(index)) if index.isdigit() and int(index) > 0 else None
        if plan is not None and plan.slug[EN] == product.slug_en:
            product.name_ko, product.slug_ko = plan.name[KO], plan.slug[KO]
            product.description_ko = plan.description[KO]
            products.append(product)
    Product.objects.bulk_update(products, ["name_ko", "slug_ko", "description_ko"], batch_size=BATCH_SIZE)
    return len(products)


def _missing_demo_products(*, up_to: int, wanted: int) -> list[DemoProduct]:
    # Loading every slug is one query and bounded: we only get here when the catalog holds
    # fewer than `up_to` products. Demo products moved to another category still count.
    # Among indexes 1..up_to at most that many slugs are taken, so `wanted` are always free.
    taken = set(Product.objects.values_list("slug_en", flat=True))
    candidates = (demo_product(index=index) for index in range(1, up_to + 1))
    return list(itertools.islice((plan for plan in candidates if plan.slug[EN] not in taken), wanted))


def _categories_for(*, plans: list[DemoProduct]) -> dict[str, Category]:
    # Only the categories the new products need, so a small N leaves no empty categories in
    # the navigation. A category with a demo slug made by hand is used as it is.
    needed = {plan.category.slug[EN]: plan.category for plan in plans}
    found = {category.slug_en: category
             for category in Category.objects.filter(slug_en__in=needed)}
    for slug, demo in needed.items():
        if slug not in found:
            found[slug] = Category.objects.create(name_en=demo.name[EN], slug_en=slug,
                                                  name_ko=demo.name[KO], slug_ko=demo.slug[KO])
    return found


def _product_with_image(*, plan: DemoProduct, category: Category) -> Product:
    product = Product(
        category=category,
        name_en=plan.name[EN],
        name_ko=plan.name[KO],
        slug_en=plan.slug[EN],
        slug_ko=plan.slug[KO],
        description_en=plan.description[EN],
        description_ko=plan.description[KO],
        price=plan.price,
        stock=plan.stock,
        available=True,
    )
    image = Product._meta.get_field("image")
    # upload_to decides the folder as it does for an uploaded file; the file name is the slug,
    # so the same product always gets the same name.
    name = image.generate_filename(product, f"{plan.slug[EN]}.png")
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
    # In English: Pillow's bundled font has no Hangul.
    initials = "".join(word[0] for word in plan.name[EN].split())[:3].upper()
    draw.text((IMAGE_SIZE // 2, IMAGE_SIZE * 9 // 20), initials, fill=255, anchor="mm",
              font=_font(size=IMAGE_SIZE // 3))
    draw.text((IMAGE_SIZE // 2, IMAGE_SIZE * 7 // 8), plan.name[EN], fill=255, anchor="mm",
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
