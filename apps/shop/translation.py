"""Catalog text in English and Korean: a column per language, read in the active language.

`Product.name` (and `slug`, `description`; a category's `name` and `slug`) is the text in the
language of the request, the English one when the Korean is blank: every template, e-mail and
invoice that says `product.name` shows the shopper's language without knowing about columns, and
no page needs a join or a query more for it. Queries name the columns themselves (`name_en`).
"""

from django.utils.translation import get_language

# The catalog's first language: every product has its text, and a translation left blank
# falls back to it.
SOURCE_LANGUAGE = "en"
CATALOG_LANGUAGES = ("en", "ko")


def catalog_language() -> str:
    """The active language if the catalog has columns for it, else the source language."""
    language = (get_language() or SOURCE_LANGUAGE).split("-")[0]
    return language if language in CATALOG_LANGUAGES else SOURCE_LANGUAGE


def column(field: str, language: str) -> str:
    return f"{field}_{language}"


def columns(field: str) -> list[str]:
    """The columns holding `field` in every catalog language, the source language's first."""
    return [column(field, language) for language in CATALOG_LANGUAGES]


def translated(field: str) -> property:
    """The property that reads `field` in the active language, falling back to the source's.

    Assigning sets the source language's text, whatever language is active: the code and tests
    that build products (`Product(name=...)`) always meant the English name, and a language left
    active by an earlier request must not turn that into a Korean one. A property (not another
    descriptor) so that Model(**kwargs) accepts it.
    """

    def read(instance):
        language = catalog_language()
        if language != SOURCE_LANGUAGE:
            text = getattr(instance, column(field, language))
            if text:
                return text
        return getattr(instance, column(field, SOURCE_LANGUAGE))

    def write(instance, value) -> None:
        setattr(instance, column(field, SOURCE_LANGUAGE), value)

    return property(read, write, doc=f"The {field} in the active language (English if not translated).")
