from django.core.management.base import BaseCommand

from presessions.demo import load_demo


class Command(BaseCommand):
    help = "Load the real calendar plus demo data: an open call and a staff account."

    def add_arguments(self, parser):
        parser.add_argument("--seed", type=int, default=2012, help="Seed of the synthetic data generator.")

    def handle(self, *args, seed=2012, **options):
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
