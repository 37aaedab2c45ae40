from django.core.management.base import BaseCommand

from presessions.importers import load_calendar, load_geneva_calendar, load_themes


class Command(BaseCommand):
    help = (
        "Load the UPR 4th-cycle calendar, the Human Rights Council's main sessions, the dates of past Pre-session series "
        "and the human-rights themes. Safe to run again."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--overwrite",
            action="store_true",
            help="Bring rows edited in the admin back in line with the data files.",
        )

    def handle(self, *args, overwrite=False, **options):
        counts = load_calendar(overwrite=overwrite) + load_geneva_calendar(overwrite=overwrite) + load_themes(overwrite=overwrite)
        for key in sorted(counts):
            self.stdout.write(f"{key}: {counts[key]}")
