"""`manage.py seed_catalog [--products N] [--demo-data]`: fill the catalog with demo products, up
to N in all; with --demo-data, also a demo coupon and paid demo orders (for the bought-together
lists), once."""

from django.core.management.base import BaseCommand, CommandError, OutputWrapper
from tqdm import tqdm

from apps.coupons.demo import demo_coupon_seed
from apps.recommendations.demo import demo_orders_seed
from apps.shop.demo_catalog import DemoCatalogSeedResult, demo_catalog_seed

DEFAULT_PRODUCTS = 48


class Command(BaseCommand):
    help = (
        "Add demo categories and products (with generated images) until the catalog holds "
        "--products products. Safe to run again: existing products are kept and counted."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--products", type=int, default=DEFAULT_PRODUCTS, metavar="N",
            help=f"How many products the catalog should hold in all (default {DEFAULT_PRODUCTS}).",
        )
        # Opt-in: a deployed shop must never get a public 10 % code or made-up paid orders.
        parser.add_argument(
            "--demo-data", action="store_true",
            help="Also add the coupon WELCOME10 (10%% off for a year) and a few paid demo orders, "
                 "so that the bought-together lists show (make run); made once.",
        )

    def handle(self, *args, products: int, demo_data: bool = False, **options):
        # Checked here rather than by argparse: call_command(products=...) skips argparse.
        if products < 0:
            raise CommandError(f"--products must be 0 or more, not {products}.")
        # A bar only for a person watching: captured output (tests, CI logs) gets the summary.
        progress = _ProgressBar(stdout=self.stdout, enabled=self.stdout.isatty())
        try:
            result = demo_catalog_seed(products=products, on_progress=progress.show)
        finally:
            progress.close()
        coupon, orders = (demo_coupon_seed(), demo_orders_seed()) if demo_data else (None, 0)
        if coupon is not None or orders:
            made = [f"coupon {coupon.code} ({coupon.discount}% off)"] if coupon else []
            made += [f"{_count(orders, 'paid order')} for the bought-together lists"] if orders else []
            self.stdout.write("Demo data: " + " and ".join(made) + ".")
        if result.translated:
            self.stdout.write(f"Gave {_count(result.translated, 'demo product')} their Korean text.")
        self.stdout.write(_summary(result=result, asked=products))


def _summary(*, result: DemoCatalogSeedResult, asked: int) -> str:
    if result.created == 0:
        return (f"The catalog already has {_count(result.total, 'product')}, "
                f"at least the {asked} asked for; nothing to do.")
    return (f"Created {_count(result.created, 'product')} in "
            f"{_count(result.categories, 'category', 'categories')}; "
            f"the catalog now has {result.total}.")


def _count(number: int, singular: str, plural: str | None = None) -> str:
    return f"{number} {singular if number == 1 else plural or singular + 's'}"


class _ProgressBar:
    """tqdm, opened only once the seed knows how many products it will make."""

    def __init__(self, *, stdout: OutputWrapper, enabled: bool):
        self._stdout = stdout
        self._enabled = enabled
        self._bar: tqdm | None = None

    def show(self, done: int, total: int) -> None:
        if not self._enabled:
            return
        if self._bar is None:
            self._bar = tqdm(total=total, unit="product", file=_Unterminated(self._stdout))
        self._bar.update(done - self._bar.n)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


class _Unterminated:
    """The command's stdout as tqdm needs it: OutputWrapper ends every write with a newline,
    which would print each redraw of the bar on a line of its own."""

    def __init__(self, out: OutputWrapper):
        self._out = out
        # tqdm draws with block characters only when the stream says it can take them.
        self.encoding = getattr(out, "encoding", None)

    def write(self, text: str) -> None:
        self._out.write(text, ending="")

    def flush(self) -> None:
        self._out.flush()
