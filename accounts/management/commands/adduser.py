from django.core.management.base import BaseCommand, CommandError

from accounts.services import create_user


class Command(BaseCommand):
    help = "Create a local account. Prints nothing on success."

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument("--email", default="")
        parser.add_argument("--password", default=None, help="without one, the account signs in by other means")
        parser.add_argument("--admin", action="store_true", help="make the account a site administrator")

    def handle(self, *args, name, email, password, admin, **options):
        try:
            create_user(name, email=email, password=password, admin=admin)
        except ValueError as error:
            raise CommandError(str(error)) from None
