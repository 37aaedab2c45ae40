"""Erase the personal data past its retention period (applications/privacy.py); beat runs it daily."""

import datetime as dt

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from applications.privacy import purge


def moment(value: str) -> dt.datetime:
    parsed = parse_datetime(value)
    if parsed is None:
        day = parse_date(value)
        if day is None:
            raise ValueError(value)
        parsed = dt.datetime.combine(day, dt.time(12, 0))
    if timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed)
    return parsed


class Command(BaseCommand):
    help = "Erase the personal data past its retention period, keep the anonymous counts, and say what was done."

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Say what would be erased, and erase nothing.")
        parser.add_argument(
            "--now",
            metavar="DATE",
            help=(
                "Count the periods as if it were this date (YYYY-MM-DD, or an ISO date and time; Geneva time). "
                "A date in the future erases data before its period ends: the command asks first."
            ),
        )
        parser.add_argument(
            "--noinput", "--no-input", action="store_false", dest="interactive", help="Do not ask for confirmation."
        )

    def handle(self, *args, dry_run=False, now=None, interactive=True, **options):
        if now is None:
            when = timezone.now()
        else:
            try:
                when = moment(now.strip())
            except ValueError:
                raise CommandError(f"--now: {now!r} is not a date; write it as YYYY-MM-DD, e.g. 2028-06-30.") from None
            if not 2000 <= when.year <= 9000:
                raise CommandError(f"--now: {now!r} is out of range; give a date between the years 2000 and 9000.")
        if not dry_run and when > timezone.now() + dt.timedelta(minutes=1):
            warning = (
                f"--now {timezone.localtime(when):%Y-%m-%d %H:%M} is in the future: this erases, for good, "
                "data whose period has not ended yet."
            )
            if not interactive:
                self.stderr.write(f"Warning: {warning}")
            else:
                try:
                    answer = input(f"{warning}\nType 'yes' to erase it now, or anything else to stop (try --dry-run): ")
                except EOFError:
                    answer = ""
                if answer.strip() != "yes":
                    raise CommandError("Nothing was erased (no 'yes'; pass --noinput to skip the question).")
        report = purge(now=when, dry_run=dry_run)
        if dry_run:
            self.stdout.write(f"Dry run at {timezone.localtime(when):%Y-%m-%d %H:%M}: nothing was changed.")
        for line in report.lines():
            self.stdout.write(line)
