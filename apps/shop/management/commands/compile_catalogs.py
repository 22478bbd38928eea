"""`manage.py compile_catalogs [--stale]`: build every .mo file from its .po file, in pure Python.

`make run`, `make test`, the docker image and the Lambda package step use it (shop_project/catalogs.py);
no GNU gettext is needed. The .mo files are never committed.
"""

from django.core.management.base import BaseCommand

from shop_project.catalogs import BASE_DIR, compile_catalogs


class Command(BaseCommand):
    help = "Compile the shop's message catalogs (.po) into .mo files next to them."
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("--stale", action="store_true", help="Only where the .po is newer than its .mo.")

    def handle(self, *args, stale: bool, **options):
        written = compile_catalogs(only_stale=stale)
        for mo in written:
            self.stdout.write(f"compiled {mo.relative_to(BASE_DIR)}", style_func=None)
        self.stdout.write(f"{len(written)} catalog(s) compiled.")
