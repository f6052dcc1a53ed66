from django.apps import AppConfig


class ReposConfig(AppConfig):
    name = "repos"
    verbose_name = "Repositories"

    def ready(self):
        # The search index follows pushes through repos.signals.refs_moved.
        from repos import search  # noqa: F401
