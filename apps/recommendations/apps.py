from django.apps import AppConfig


class RecommendationsConfig(AppConfig):
    name = "apps.recommendations"
    label = "recommendations"

    def ready(self):
        from apps.recommendations import receivers  # noqa: F401 - counts a paid order's pairs
