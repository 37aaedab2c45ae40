from django.db import models
from django.utils.translation import gettext_lazy as _


class CalendarStatus(models.TextChoices):
    """How sure the calendar is about a Working Group session."""

    CONFIRMED = "confirmed", _("Confirmed")
    INFERRED = "inferred", _("Inferred, not yet confirmed")


class ReviewStatus(models.TextChoices):
    """What happened, or will happen, to one State's review in a session."""

    SCHEDULED = "scheduled", _("Scheduled")
    REVIEWED = "reviewed", _("Reviewed")
    POSTPONED = "postponed", _("Postponed")
    RESCHEDULED = "rescheduled", _("Rescheduled to another session")
    NON_COOPERATION = "non_cooperation", _("Non-cooperation")

    @classmethod
    def moved_states(cls):
        """Statuses under which the review does not take place in this session."""
        return [cls.POSTPONED, cls.RESCHEDULED, cls.NON_COOPERATION]


class PresessionFormat(models.TextChoices):
    IN_PERSON = "in_person", _("In person, at the Palais des Nations")
    VIRTUAL = "virtual", _("Virtual, with pre-recorded statements")
    HYBRID = "hybrid", _("Hybrid")


class CallState(models.TextChoices):
    UPCOMING = "upcoming", _("Not open yet")
    OPEN = "open", _("Open")
    CLOSED = "closed", _("Closed")


class ScoreBasis(models.TextChoices):
    RAW = "raw", _("Raw mean of the reviews")
    CALIBRATED = "calibrated", _("Calibrated score (each reviewer's habits taken into account)")
