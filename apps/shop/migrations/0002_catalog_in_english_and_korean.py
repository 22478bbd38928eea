"""The catalog's text in English and Korean.

Today's name, slug and description columns become the English ones by a rename, so every row
keeps its text and nothing is copied. The Korean columns start blank, which shows the English
text until staff translate it.
"""

from django.db import migrations, models

import apps.shop.models


class Migration(migrations.Migration):

    dependencies = [
        ("shop", "0001_initial"),
    ]

    operations = [
        # The detail page finds a product by its id alone now (a stale slug redirects).
        migrations.RemoveIndex("product", name="shop_produc_id_f21274_idx"),
        # The indexes on the renamed columns are dropped first and made again after: SQLite
        # renames a column by rebuilding the table from the migration state, whose indexes would
        # still name the old field (on PostgreSQL this rebuilds three indexes, once).
        migrations.RemoveIndex("category", name="shop_catego_name_289c7e_idx"),
        migrations.RemoveIndex("product", name="shop_produc_availab_d1fc6b_idx"),
        migrations.RemoveIndex("product", name="shop_produc_categor_d25521_idx"),
        migrations.RenameField("category", "name", "name_en"),
        migrations.RenameField("category", "slug", "slug_en"),
        migrations.RenameField("product", "name", "name_en"),
        migrations.RenameField("product", "slug", "slug_en"),
        migrations.RenameField("product", "description", "description_en"),
        migrations.AlterModelOptions(
            name="category",
            options={"ordering": ["name_en"], "verbose_name_plural": "categories"},
        ),
        migrations.AlterModelOptions(name="product", options={"ordering": ["name_en", "id"]}),
        migrations.AddIndex("category", models.Index(fields=["name_en"], name="shop_catego_name_en_307f2e_idx")),
        migrations.AddIndex("product", models.Index(fields=["available", "name_en", "id"],
                                                    name="shop_produc_availab_805dfb_idx")),
        migrations.AddIndex("product", models.Index(fields=["category", "available", "name_en", "id"],
                                                    name="shop_produc_categor_d775df_idx")),
        migrations.AlterField(
            model_name="category",
            name="name_en",
            field=models.CharField(max_length=200, verbose_name="name (English)"),
        ),
        migrations.AlterField(
            model_name="category",
            name="slug_en",
            field=models.SlugField(max_length=200, unique=True, verbose_name="slug (English)",
                                   validators=[apps.shop.models.validate_category_slug]),
        ),
        migrations.AlterField(
            model_name="product",
            name="name_en",
            field=models.CharField(max_length=200, verbose_name="name (English)"),
        ),
        migrations.AlterField(
            model_name="product",
            name="slug_en",
            field=models.SlugField(max_length=200, verbose_name="slug (English)"),
        ),
        migrations.AlterField(
            model_name="product",
            name="description_en",
            field=models.TextField(blank=True, verbose_name="description (English)"),
        ),
        migrations.AddField(
            model_name="category",
            name="name_ko",
            field=models.CharField(blank=True, max_length=200, verbose_name="name (Korean)"),
        ),
        migrations.AddField(
            model_name="category",
            name="slug_ko",
            field=models.SlugField(allow_unicode=True, blank=True, max_length=200, verbose_name="slug (Korean)",
                                   validators=[apps.shop.models.validate_category_slug]),
        ),
        migrations.AddField(
            model_name="product",
            name="name_ko",
            field=models.CharField(blank=True, max_length=200, verbose_name="name (Korean)"),
        ),
        migrations.AddField(
            model_name="product",
            name="slug_ko",
            field=models.SlugField(allow_unicode=True, blank=True, max_length=200, verbose_name="slug (Korean)"),
        ),
        migrations.AddField(
            model_name="product",
            name="description_ko",
            field=models.TextField(blank=True, verbose_name="description (Korean)"),
        ),
        migrations.AddConstraint(
            model_name="category",
            constraint=models.UniqueConstraint(condition=models.Q(("slug_ko", ""), _negated=True),
                                               fields=("slug_ko",), name="category_slug_ko_unique"),
        ),
    ]
