"""
The UPR calendar and the Pre-sessions that mirror it.

A Cycle holds Working Group sessions; each Session reviews a list of States
(StateReview), and each StateReview carries the Pre-session meeting that UPR
Info holds for that State in Geneva. A Call for applications belongs to one
Session: applicants choose the State they want to speak on.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from django_countries.fields import CountryField

from . import timeline as timeline_rules
from .caching import data_version
from .countries import display_name
from .enums import CalendarStatus, CallState, PresessionFormat, ReviewStatus, ScoreBasis


class Cycle(models.Model):
    number = models.PositiveSmallIntegerField(_("number"), unique=True)
    period = models.CharField(_("period"), max_length=100, blank=True, help_text=_("For example “Nov 2022 - early 2027”."))
    notes = models.TextField(_("notes"), blank=True)

    class Meta:
        ordering = ["number"]
        verbose_name = _("UPR cycle")
        verbose_name_plural = _("UPR cycles")

    def __str__(self):
        return _("Cycle %(number)s") % {"number": self.number}


class CouncilSession(models.Model):
    """
    One main session of the Human Rights Council, which fills the Palais des Nations from late
    February to early April. The Pre-session week keeps clear of it (see presessions/timeline.py).
    """

    number = models.PositiveSmallIntegerField(_("Human Rights Council session"), unique=True)
    start_date = models.DateField(
        _("first day"), help_text=_("The Pre-session week keeps clear of the session and of the week before it.")
    )
    end_date = models.DateField(_("last day"))
    sources = models.TextField(_("sources"), blank=True)

    class Meta:
        ordering = ["start_date"]
        verbose_name = _("Human Rights Council main session")
        verbose_name_plural = _("Human Rights Council main sessions")
        constraints = [
            models.CheckConstraint(condition=Q(end_date__gte=models.F("start_date")), name="council_session_ends_after_start"),
        ]

    def __str__(self):
        return _("Human Rights Council %(number)s") % {"number": self.number}

    def clean(self):
        if self.start_date and self.end_date and self.end_date < self.start_date:
            raise ValidationError({"end_date": _("The last day must not be before the first day.")})


# (data version, periods): every timeline needs the Council's sessions, so each process keeps them
# while the public data version stands (saving a Council session changes it) instead of asking the
# database once per Working Group session on a page.
_council_periods: tuple[str, tuple[timeline_rules.Period, ...]] | None = None


def council_periods() -> tuple[timeline_rules.Period, ...]:
    """Return the first and last day of every Human Rights Council main session on record."""
    global _council_periods
    version = data_version()
    if _council_periods is None or _council_periods[0] != version:
        periods = tuple(CouncilSession.objects.order_by("start_date").values_list("start_date", "end_date"))
        _council_periods = (version, periods)
    return _council_periods[1]


def forget_council_periods(**kwargs) -> None:
    """Drop this process's copy at once (other processes follow the data version, bumped on commit)."""
    global _council_periods
    _council_periods = None


class SessionQuerySet(models.QuerySet):
    def with_call(self):
        return self.select_related("cycle", "call")

    def upcoming(self, today: dt.date | None = None):
        """Sessions whose Working Group has not ended, or whose dates are not known yet."""
        today = today or timezone.localdate()
        return self.filter(Q(end_date__gte=today) | Q(end_date__isnull=True, expected_month__gte=today.replace(day=1)))


class Session(models.Model):
    """One session of the UPR Working Group, e.g. the 54th."""

    number = models.PositiveSmallIntegerField(_("Working Group session"), unique=True)
    cycle = models.ForeignKey(Cycle, verbose_name=_("cycle"), on_delete=models.PROTECT, related_name="sessions")
    start_date = models.DateField(_("first day"), null=True, blank=True)
    end_date = models.DateField(_("last day"), null=True, blank=True)
    expected_month = models.DateField(
        _("expected month"),
        null=True,
        blank=True,
        help_text=_("When the dates are not known yet: the first day of the month the session is expected in."),
    )
    calendar_status = models.CharField(
        _("calendar status"), max_length=20, choices=CalendarStatus.choices, default=CalendarStatus.CONFIRMED
    )
    order_is_official = models.BooleanField(
        _("order of review is official"), default=False, help_text=_("Untick when the order is only inferred.")
    )
    presession_format = models.CharField(
        _("Pre-session format"), max_length=20, choices=PresessionFormat.choices, default=PresessionFormat.IN_PERSON
    )
    # Staff overrides of the computed engagement timeline. An empty field means
    # "use the rule"; the call's own dates live on Call.
    stakeholder_deadline = models.DateField(
        _("stakeholder report deadline"),
        null=True,
        blank=True,
        help_text=_("Leave empty to use about 7 months before the session."),
    )
    national_report_deadline = models.DateField(_("national report deadline"), null=True, blank=True)
    presessions_start = models.DateField(
        _("Pre-sessions start"),
        null=True,
        blank=True,
        help_text=_(
            "Leave empty to use the Tuesday 5 weeks before the session, moved earlier out of the year-end break and the Human Rights Council's main session."
        ),
    )
    presessions_end = models.DateField(
        _("Pre-sessions end"), null=True, blank=True, help_text=_("Leave empty to use the Friday of the Pre-session week.")
    )
    results_from = models.DateField(
        _("results sent from"), null=True, blank=True, help_text=_("Leave empty to use 2 weeks after the call closes.")
    )
    results_by = models.DateField(
        _("results sent by"), null=True, blank=True, help_text=_("Leave empty to use 3 weeks after the call closes.")
    )
    notes = models.TextField(_("notes"), blank=True)
    sources = models.TextField(
        _("sources"), blank=True, help_text=_("Where the dates and the list of States come from, one per line.")
    )

    objects = SessionQuerySet.as_manager()

    class Meta:
        ordering = ["number"]
        verbose_name = _("Working Group session")
        verbose_name_plural = _("Working Group sessions")

    def __str__(self):
        return _("UPR Working Group %(number)s") % {"number": self.number}

    def get_absolute_url(self):
        return reverse("presessions:session", args=[self.number])

    def clean(self):
        if self.start_date and self.end_date and self.end_date < self.start_date:
            raise ValidationError({"end_date": _("The last day must not be before the first day.")})
        if self.presessions_start and self.presessions_end and self.presessions_end < self.presessions_start:
            raise ValidationError({"presessions_end": _("The Pre-sessions must not end before they start.")})

    @property
    def year(self) -> int | None:
        day = self.start_date or self.expected_month
        return day.year if day else None

    @property
    def has_ended(self) -> bool:
        """Whether the Working Group's last day is past (in Geneva)."""
        return self.end_date is not None and self.end_date < timezone.localdate()

    @cached_property
    def timeline(self) -> timeline_rules.Timeline | None:
        """
        Return the engagement timeline, or None while the session has no date.

        Staff overrides on the session win over the rules, and the dates of an
        existing call win over the computed call window. The computed
        Pre-session week keeps clear of the Council sessions on record.
        """
        if not self.start_date:
            return None
        call = self.call_or_none
        return timeline_rules.compute_timeline(
            self.start_date,
            stakeholder_deadline=self.stakeholder_deadline,
            presessions_start=self.presessions_start,
            presessions_end=self.presessions_end,
            council_sessions=council_periods(),
            call_opens=call.opens_at.astimezone(timezone.get_default_timezone()).date() if call else None,
            call_closes=call.closes_at.astimezone(timezone.get_default_timezone()).date() if call else None,
            results_from=self.results_from,
            results_by=self.results_by,
        )

    def timeline_steps(self, today: dt.date | None = None) -> list[TimelineStep]:
        """The timeline as labelled steps for display, each marked past, current or upcoming."""
        timeline = self.timeline
        if timeline is None:
            return []
        today = today or timezone.localdate()
        call = self.call_or_none
        rows = [
            (_("UPR stakeholder reports due at OHCHR"), timeline.stakeholder_deadline, None, self.stakeholder_deadline is None),
            (_("Call for applications open"), timeline.call_opens, timeline.call_closes, call is None),
            (_("Selected speakers contacted"), timeline.results_from, timeline.results_by, self.results_from is None),
            (_("Pre-sessions in Geneva"), timeline.presessions_start, timeline.presessions_end, self.presessions_start is None),
            (
                _("UPR Working Group session"),
                timeline.working_group_start,
                self.end_date,
                self.calendar_status == CalendarStatus.INFERRED,
            ),
        ]
        return [TimelineStep(label, start, end, estimated, today) for label, start, end, estimated in rows]

    @property
    def call_or_none(self) -> Call | None:
        try:
            return self.call
        except Call.DoesNotExist:
            return None


@dataclass
class TimelineStep:
    label: str
    start: dt.date
    end: dt.date | None
    estimated: bool
    today: dt.date

    @property
    def state(self) -> str:
        if (self.end or self.start) < self.today:
            return "past"
        if self.start <= self.today:
            return "current"
        return "upcoming"


class StateReviewQuerySet(models.QuerySet):
    def taking_place(self):
        return self.exclude(status__in=ReviewStatus.moved_states())


class StateReview(models.Model):
    """One State's review in one Working Group session, and its Pre-session meeting."""

    session = models.ForeignKey(Session, verbose_name=_("session"), on_delete=models.CASCADE, related_name="reviews")
    country = CountryField(_("State under Review"))
    order = models.PositiveSmallIntegerField(_("order of review"), default=0)
    status = models.CharField(_("status"), max_length=20, choices=ReviewStatus.choices, default=ReviewStatus.SCHEDULED)
    rescheduled_to = models.ForeignKey(
        Session,
        verbose_name=_("rescheduled to"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="rescheduled_reviews",
    )
    status_note = models.TextField(_("status note"), blank=True)
    meeting_date = models.DateField(_("Pre-session date"), null=True, blank=True)
    meeting_start = models.TimeField(_("Pre-session start time"), null=True, blank=True, help_text=_("Geneva time."))
    meeting_room = models.CharField(_("room"), max_length=100, blank=True)
    # Never on a public page: staff see it, and the meeting's remote speakers from the day before (panels.remote).
    remote_link = models.URLField(
        _("link for remote speakers"),
        blank=True,
        help_text=_(
            "For a hybrid series: shown to staff, and to this meeting's remote speakers from the day before. Never published."
        ),
    )
    meeting_not_held = models.BooleanField(
        _("Pre-session not held"), default=False, help_text=_("For example when too few applications came in.")
    )
    meeting_not_held_reason = models.CharField(_("reason it is not held"), max_length=200, blank=True)

    objects = StateReviewQuerySet.as_manager()

    class Meta:
        ordering = ["session__number", "order"]
        verbose_name = _("State under Review")
        verbose_name_plural = _("States under Review")
        constraints = [
            models.UniqueConstraint(fields=["session", "country"], name="unique_state_per_session"),
        ]

    def __str__(self):
        return f"{self.name} ({self.session.number})"

    def get_absolute_url(self):
        return reverse("presessions:country", args=[self.country.code.lower()])

    def clean(self):
        if self.status == ReviewStatus.RESCHEDULED and not self.rescheduled_to_id:
            raise ValidationError({"rescheduled_to": _("Choose the session the review was rescheduled to.")})
        if self.rescheduled_to_id and self.rescheduled_to_id == self.session_id:
            raise ValidationError({"rescheduled_to": _("A review cannot be rescheduled to its own session.")})

    @property
    def name(self) -> str:
        return display_name(self.country.code)

    @property
    def takes_place(self) -> bool:
        return self.status not in ReviewStatus.moved_states()


class CallQuerySet(models.QuerySet):
    def open_at(self, moment: dt.datetime | None = None):
        moment = moment or timezone.now()
        return self.filter(opens_at__lte=moment, closes_at__gt=moment)


def call_close_moment(day: dt.date) -> dt.datetime:
    """Return 23:59 Geneva time on `day`, the moment a call closing that day closes."""
    return timezone.make_aware(dt.datetime.combine(day, dt.time(23, 59)), timezone.get_default_timezone())


def call_open_moment(day: dt.date) -> dt.datetime:
    """Return 00:00 Geneva time on `day`."""
    return timezone.make_aware(dt.datetime.combine(day, dt.time(0, 0)), timezone.get_default_timezone())


REVIEWS_DUE_AFTER_CLOSE = dt.timedelta(days=10)  # selection results go out two weeks after the close at the earliest


class Call(models.Model):
    """
    The call for applications to speak at one session's Pre-sessions.

    Both moments are stored in UTC. A call is open from `opens_at` included to
    `closes_at` excluded: an application posted at the closing moment itself
    is late.
    """

    session = models.OneToOneField(Session, verbose_name=_("session"), on_delete=models.CASCADE, related_name="call")
    opens_at = models.DateTimeField(_("opens at"))
    closes_at = models.DateTimeField(_("closes at"), help_text=_("Applications are refused from this moment on."))
    introduction = models.TextField(_("introduction"), blank=True, help_text=_("Shown above the application form."))
    # Review (issue 19): how many reviews each application gets, by when, and which score panels use.
    reviews_per_application = models.PositiveSmallIntegerField(
        _("reviews per application"), default=2, validators=[MinValueValidator(1), MaxValueValidator(6)]
    )
    review_deadline = models.DateTimeField(
        _("reviews due by"),
        null=True,
        blank=True,
        help_text=_("Empty: ten days after the call closes, four days before the first decisions may go out."),
    )
    calibration_min_count = models.PositiveSmallIntegerField(
        _("reviews before a reviewer is calibrated"),
        default=8,
        validators=[MinValueValidator(2)],
        help_text=_("A reviewer's marks are calibrated against their own habits once they have reviewed this many applications."),
    )
    score_basis = models.CharField(_("score the panels use"), max_length=20, choices=ScoreBasis.choices, default=ScoreBasis.RAW)

    objects = CallQuerySet.as_manager()

    class Meta:
        ordering = ["-opens_at"]
        verbose_name = _("call for applications")
        verbose_name_plural = _("calls for applications")
        constraints = [
            models.CheckConstraint(condition=Q(closes_at__gt=models.F("opens_at")), name="call_closes_after_opening"),
        ]

    def __str__(self):
        return _("Call for the Pre-sessions of Working Group %(number)s") % {"number": self.session.number}

    def clean(self):
        if self.opens_at and self.closes_at and self.closes_at <= self.opens_at:
            raise ValidationError({"closes_at": _("The call must close after it opens.")})

    def state(self, moment: dt.datetime | None = None) -> CallState:
        moment = moment or timezone.now()
        if moment < self.opens_at:
            return CallState.UPCOMING
        if moment < self.closes_at:
            return CallState.OPEN
        return CallState.CLOSED

    @property
    def is_open(self) -> bool:
        return self.state() == CallState.OPEN

    def reviews_due(self) -> dt.datetime:
        """When reviews are due: the date staff set, or ten days after the call closes."""
        return self.review_deadline or self.closes_at + REVIEWS_DUE_AFTER_CLOSE

    @classmethod
    def for_session(cls, session: Session) -> Call:
        """Build (unsaved) a call whose window follows the session's timeline."""
        timeline = session.timeline
        if timeline is None:
            raise ValueError("the session has no dates, so its call cannot be computed")
        return cls(
            session=session,
            opens_at=call_open_moment(timeline.call_opens),
            closes_at=call_close_moment(timeline.call_closes),
        )


class Theme(models.Model):
    """
    A human-rights theme an applicant can speak on (UPR Info's issue list).

    The label is kept in the three languages of the site, as rows of data rather than
    catalogue strings: staff can add a theme or correct a name in the admin.
    """

    TRANSLATED_LANGUAGES = ("fr", "es")

    slug = models.SlugField(_("slug"), max_length=80, unique=True)
    label = models.CharField(_("label"), max_length=120)
    label_fr = models.CharField(_("label in French"), max_length=160, blank=True)
    label_es = models.CharField(_("label in Spanish"), max_length=160, blank=True)
    source_label = models.CharField(_("label in the source"), max_length=120, blank=True)
    active = models.BooleanField(_("offered to applicants"), default=True)

    class Meta:
        ordering = ["label"]
        verbose_name = _("human-rights theme")
        verbose_name_plural = _("human-rights themes")

    def __str__(self):
        return self.localized_label

    @classmethod
    def label_field(cls) -> str:
        """The name of the label field for the active language: "label_fr", "label_es" or "label"."""
        language = (get_language() or "en").split("-")[0]
        return f"label_{language}" if language in cls.TRANSLATED_LANGUAGES else "label"

    @property
    def localized_label(self) -> str:
        """The label in the active language, or the English one while no translation is entered."""
        return getattr(self, self.label_field()) or self.label


class PrivacyNoticeQuerySet(models.QuerySet):
    def current(self) -> PrivacyNotice | None:
        return self.order_by("-version").first()


class PrivacyNotice(models.Model):
    """
    A version of the privacy notice that staff wrote in the admin.

    A version is never edited once published: saving the admin's form adds the next one, and each
    application records the version its applicant agreed to. While staff have written none, the
    notice built into the product (presessions/templates/presessions/privacy_notice.txt, translated
    like every other page) is version 1.
    """

    BUILT_IN_VERSION = 1
    TRANSLATED_LANGUAGES = ("fr", "es")

    version = models.PositiveIntegerField(_("version"), unique=True, editable=False)
    text = models.TextField(
        _("text in English"),
        help_text=_(
            "Plain text. A line starting with “## ” is a heading, one starting with “- ” a list item; a blank line ends a paragraph."
        ),
    )
    text_fr = models.TextField(_("text in French"), blank=True, help_text=_("Leave empty to show the English text."))
    text_es = models.TextField(_("text in Spanish"), blank=True, help_text=_("Leave empty to show the English text."))
    changes = models.CharField(_("what changed"), max_length=300, blank=True)
    published_at = models.DateTimeField(_("published at"), default=timezone.now, editable=False)

    objects = PrivacyNoticeQuerySet.as_manager()

    class Meta:
        ordering = ["-version"]
        verbose_name = _("privacy notice")
        verbose_name_plural = _("privacy notices")

    def __str__(self):
        return str(_("Privacy notice, version %(version)s") % {"version": self.version})

    def save(self, *args, **kwargs):
        if self.version is None:
            latest = PrivacyNotice.objects.aggregate(latest=models.Max("version"))["latest"]
            self.version = max(latest or 0, self.BUILT_IN_VERSION) + 1
        super().save(*args, **kwargs)

    def localized_text(self) -> str:
        language = (get_language() or "en").split("-")[0]
        if language in self.TRANSLATED_LANGUAGES:
            return getattr(self, f"text_{language}") or self.text
        return self.text


def current_privacy_version() -> int:
    """The version of the privacy notice an applicant agrees to now."""
    latest = PrivacyNotice.objects.aggregate(latest=models.Max("version"))["latest"]
    return latest or PrivacyNotice.BUILT_IN_VERSION
