from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from presessions.demo import load_demo


class Command(BaseCommand):
    help = "Load the real calendar plus demo data: an open call and a staff account."

    def add_arguments(self, parser):
        parser.add_argument("--seed", type=int, default=2012, help="Seed of the synthetic data generator.")
        parser.add_argument(
            "--even-with-debug-off",
            action="store_true",
            help="Load the demo on a site with DEBUG off too (a demo or test server, never the real site).",
        )

    def handle(self, *args, seed=2012, **options):
        if not settings.DEBUG and not options["even_with_debug_off"]:
            raise CommandError(
                "DEBUG is off: this looks like the real site. The demo adds 140 made-up applications and staff "
                "accounts whose passwords it prints. On a demo or test server, add --even-with-debug-off."
            )
        result = load_demo(seed=seed, stdout=self.stdout)
        session = result["session"]
        call = session.call
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo data loaded. Open call: Working Group {session.number}, closing {call.closes_at.isoformat()}."
            )
        )
        self.stdout.write(
            self.style.SUCCESS(f"Staff login at /admin/ -- username: {result['username']}  password: {result['password']}")
        )
        self.stdout.write(
            f"Second factor: run `.venv/bin/python manage.py totp {result['username']}` for the current code, "
            f"or add the secret {result['secret']} to an authenticator app."
        )
