from django.apps import AppConfig


class IssuesConfig(AppConfig):
    name = "issues"
    verbose_name = "Issues and pull requests"

    def ready(self):
        # Pull requests follow pushes through repos.signals.refs_moved.
        from issues import pulls  # noqa: F401
