"""`manage.py update_catalogs` (`make messages`): refresh every .po file from the code.

makemessages without locations (merges do not conflict on line numbers) and without obsolete
entries, in the project's folder and in each app's; then each `en` entry without a translation
gets its msgid. Needs GNU gettext (xgettext, msgmerge); compiling does not.
"""

from django.core.management.base import BaseCommand

from shop_project.catalogs import BASE_DIR, update_catalogs


class Command(BaseCommand):
    help = "Run makemessages for en and ko in every catalog folder and fill the en msgstrs."
    requires_system_checks = []

    def handle(self, *args, **options):
        for po in update_catalogs():
            self.stdout.write(f"updated {po.relative_to(BASE_DIR)}")
