from django.core.management.base import BaseCommand, CommandError

from accounts.selectors import get_user
from repos.services import create_repository


class Command(BaseCommand):
    help = "Create an empty repository OWNER/NAME. Prints nothing on success."

    def add_arguments(self, parser):
        parser.add_argument("full_name", metavar="OWNER/NAME")
        parser.add_argument("--private", action="store_true", help="only the owner and collaborators may see it")
        parser.add_argument("--description", default="")
        parser.add_argument("--default-branch", default="main")

    def handle(self, *args, full_name, private, description, default_branch, **options):
        owner_name, separator, name = full_name.partition("/")
        if not separator or not owner_name or not name or "/" in name:
            raise CommandError(f"expected OWNER/NAME, got {full_name!r}")
        owner = get_user(owner_name)
        if owner is None:
            raise CommandError(f"no user called {owner_name!r}")
        try:
            create_repository(
                owner, name, description=description, private=private, default_branch=default_branch
            )
        except ValueError as error:
            raise CommandError(str(error)) from None
