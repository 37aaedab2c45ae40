from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django_otp.plugins.otp_totp.models import TOTPDevice

from presessions.demo import current_code


class Command(BaseCommand):
    help = "Print the current second-factor code of a staff account's authenticator (demo and test machines: DEBUG on only)."

    def add_arguments(self, parser):
        parser.add_argument("username")

    def handle(self, *args, username, **options):
        if not settings.DEBUG:
            raise CommandError("This command only runs with DEBUG on: a production server never prints second-factor codes.")
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No account named {username!r}.")
        try:
            self.stdout.write(current_code(user))
        except TOTPDevice.DoesNotExist as error:
            raise CommandError(str(error)) from error
