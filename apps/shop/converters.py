"""The URL converter of catalog slugs: English ones and Korean ones (Hangul, allow_unicode)."""


class CatalogSlugConverter:
    """What SlugField(allow_unicode=True) accepts: letters and digits of any script, `-` and `_`.

    Django's `slug` converter matches ASCII only, so `/ko/책상-램프-1/` would be a 404. A path
    arrives percent-decoded (`%EC%B1%85…` is matched as `책…`), and reverse() encodes it again.
    """

    regex = r"[-\w]+"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value
