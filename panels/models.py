"""
Panels: who speaks at each State's Pre-session, in which order, and what
they confirmed and sent.

PanelRules holds the time budget of a session's meetings (every length is
editable, since practice varies); Panel is one State's panel, with staff
locks and exclusions; PanelMember is a speaker or a reserve, with the
explanation of why the optimiser picked them.
"""

from __future__ import annotations

import datetime as dt
import secrets
import uuid
from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_countries.fields import CountryField

from applications.models import Application
from presessions.models import Session, StateReview

from .enums import MemberRole, PanelStatus, StatementLanguage

# The most delegates one mission may announce for, or bring to, one meeting.
MAX_DELEGATES = 20


def new_key() -> str:
    return secrets.token_urlsafe(24)


def statement_upload_to(instance, filename: str) -> str:
    return f"statements/{uuid.uuid4().hex}.pdf"


class PanelRules(models.Model):
    """The time budget of one session's Pre-sessions, from which the number of speaker slots follows."""

    session = models.OneToOneField(Session, verbose_name=_("session"), on_delete=models.CASCADE, related_name="panel_rules")
    speaker_minutes = models.PositiveSmallIntegerField(_("minutes per speaker"), default=5)
    opening_minutes = models.PositiveSmallIntegerField(_("moderator's opening (minutes)"), default=5)
    state_statement_minutes = models.PositiveSmallIntegerField(_("statement of the State under Review (minutes)"), default=2)
    questions_minutes = models.PositiveSmallIntegerField(_("questions from the missions (minutes)"), default=15)
    closing_minutes = models.PositiveSmallIntegerField(_("closing (minutes)"), default=3)
    min_meeting_minutes = models.PositiveSmallIntegerField(_("shortest meeting (minutes)"), default=30)
    max_meeting_minutes = models.PositiveSmallIntegerField(_("longest meeting (minutes)"), default=60)
    max_speakers = models.PositiveSmallIntegerField(
        _("most speakers per panel"),
        default=5,
        validators=[MinValueValidator(1), MaxValueValidator(12)],
        help_text=_("Past panels had 4 to 5."),
    )
    min_speakers = models.PositiveSmallIntegerField(
        _("fewest speakers to hold a meeting"),
        default=3,
        help_text=_("With fewer eligible applications, consider marking the meeting not held."),
    )
    theme_weight = models.DecimalField(
        _("weight of each theme covered"),
        max_digits=5,
        decimal_places=2,
        default=Decimal("1.00"),
        validators=[MinValueValidator(0)],
    )
    require_nhri_or_coalition = models.BooleanField(_("include an NHRI or a national coalition when there is one"), default=True)
    confirmation_days = models.PositiveSmallIntegerField(_("days a selected speaker has to confirm"), default=7)
    day_start = models.TimeField(
        _("mornings start at"), default=dt.time(10, 0), help_text=_("Geneva time. Each day can be changed on its own.")
    )
    day_end = models.TimeField(_("mornings end at"), default=dt.time(13, 0))
    break_minutes = models.PositiveSmallIntegerField(_("break between meetings (minutes)"), default=10)
    default_room = models.CharField(
        _("room"), max_length=100, default="Palais des Nations", help_text=_("The room is confirmed by the UN shortly before.")
    )
    online_link = models.URLField(_("online link (virtual or hybrid series)"), blank=True)
    statement_days_before = models.PositiveSmallIntegerField(_("written statements due, days before the Pre-session"), default=14)
    visa_weeks_before = models.PositiveSmallIntegerField(
        _("visa letters: latest safe request, weeks before the Pre-session week"),
        default=5,
        help_text=_(
            "A Schengen visa can take five weeks or more (UN meeting pages); change it if UPR Info's experience differs."
        ),
    )

    class Meta:
        verbose_name = _("panel rules")
        verbose_name_plural = _("panel rules")

    def __str__(self):
        return str(_("Panel rules for %(session)s") % {"session": self.session})

    @property
    def fixed_minutes(self) -> int:
        return self.opening_minutes + self.state_statement_minutes + self.questions_minutes + self.closing_minutes

    @property
    def slots(self) -> int:
        """Speaker slots: as many as the longest meeting holds, and no more than the usual maximum."""
        fit = max(0, (self.max_meeting_minutes - self.fixed_minutes) // max(1, self.speaker_minutes))
        return min(self.max_speakers, fit)

    def meeting_minutes(self, speakers: int) -> int:
        """The length of a meeting with `speakers` speakers, within the shortest and longest meeting."""
        return min(self.max_meeting_minutes, max(self.min_meeting_minutes, self.fixed_minutes + speakers * self.speaker_minutes))

    @classmethod
    def for_session(cls, session: Session) -> PanelRules:
        """The session's rules, or the defaults (unsaved: reading them writes nothing) if staff set none."""
        return cls.objects.filter(session=session).first() or cls(session=session)


class Panel(models.Model):
    review = models.OneToOneField(
        StateReview, verbose_name=_("State under Review"), on_delete=models.CASCADE, related_name="panel"
    )
    status = models.CharField(_("status"), max_length=20, choices=PanelStatus.choices, default=PanelStatus.DRAFT)
    locked = models.ManyToManyField(Application, verbose_name=_("locked in"), blank=True, related_name="+")
    excluded = models.ManyToManyField(Application, verbose_name=_("ruled out"), blank=True, related_name="+")
    composed_at = models.DateTimeField(_("composed at"), null=True, blank=True)
    finalised_at = models.DateTimeField(_("finalised at"), null=True, blank=True)
    objective = models.DecimalField(_("objective"), max_digits=8, decimal_places=2, default=0)
    women = models.PositiveSmallIntegerField(_("women"), default=0)
    men = models.PositiveSmallIntegerField(_("men"), default=0)
    other_genders = models.PositiveSmallIntegerField(_("non-binary or not said"), default=0)
    parity_ok = models.BooleanField(_("gender parity"), default=True)
    nhri_or_coalition_ok = models.BooleanField(_("NHRI or national coalition included"), default=True)
    themes_covered = models.PositiveSmallIntegerField(_("themes covered"), default=0)
    proposed_replacement = models.ForeignKey(
        Application, verbose_name=_("proposed replacement"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    replaces = models.ForeignKey(
        Application, verbose_name=_("replaces"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    finalised_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("finalised by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    early_reason = models.CharField(
        _("reason for deciding before the call closed"),
        max_length=300,
        blank=True,
        help_text=_("Recorded when a coordinator finalises a panel while its call is still open."),
    )

    class Meta:
        ordering = ["review__session__number", "review__order"]
        verbose_name = _("panel")
        verbose_name_plural = _("panels")

    def __str__(self):
        return str(_("Panel on %(state)s (%(number)s)") % {"state": self.review.name, "number": self.review.session.number})

    @property
    def is_final(self) -> bool:
        return self.status == PanelStatus.FINALISED


class PanelMember(models.Model):
    panel = models.ForeignKey(Panel, verbose_name=_("panel"), on_delete=models.CASCADE, related_name="members")
    application = models.OneToOneField(
        Application, verbose_name=_("application"), on_delete=models.CASCADE, related_name="panel_member"
    )
    role = models.CharField(_("role"), max_length=10, choices=MemberRole.choices)
    position = models.PositiveSmallIntegerField(_("position"), help_text=_("Speaking order for a speaker, rank for a reserve."))
    explanation = models.JSONField(_("why"), default=dict, blank=True)
    confirmation_deadline = models.DateTimeField(_("confirm by"), null=True, blank=True)
    confirmed_at = models.DateTimeField(_("confirmed at"), null=True, blank=True)
    declined_at = models.DateTimeField(_("declined at"), null=True, blank=True)
    decline_reason = models.CharField(_("reason for declining"), max_length=300, blank=True)
    attends_training = models.BooleanField(_("attends the one-day training"), null=True, blank=True)
    attended_training = models.BooleanField(_("came to the training"), null=True, blank=True)
    statement_file = models.FileField(_("written statement (PDF)"), upload_to=statement_upload_to, blank=True)
    statement_language = models.CharField(
        _("language of the statement"), max_length=2, choices=StatementLanguage.choices, blank=True
    )
    statement_uploaded_at = models.DateTimeField(_("statement received at"), null=True, blank=True)
    video_url = models.URLField(_("pre-recorded video"), blank=True)
    statement_public = models.BooleanField(_("statement published"), default=False)
    # The public address of the statement, /statements/<key>.pdf: random, so that statements cannot be listed.
    statement_key = models.CharField(max_length=64, unique=True, default=new_key, editable=False)

    class Meta:
        ordering = ["panel", "role", "position"]
        verbose_name = _("panel member")
        verbose_name_plural = _("panel members")

    def __str__(self):
        return f"{self.application.organisation.name} ({self.get_role_display()})"

    @property
    def is_speaker(self) -> bool:
        return self.role == MemberRole.SPEAKER

    def confirmation_open(self, now: dt.datetime | None = None) -> bool:
        now = now or timezone.now()
        return (
            self.is_speaker and not self.declined_at and (self.confirmation_deadline is None or now < self.confirmation_deadline)
        )


class ScheduleDay(models.Model):
    """One morning of the Pre-session week, with its own hours and room."""

    session = models.ForeignKey(Session, verbose_name=_("session"), on_delete=models.CASCADE, related_name="schedule_days")
    date = models.DateField(_("date"))
    start = models.TimeField(_("start"), help_text=_("Geneva time."))
    end = models.TimeField(_("end"))
    room = models.CharField(_("room"), max_length=100, blank=True)

    class Meta:
        ordering = ["session", "date"]
        verbose_name = _("Pre-session day")
        verbose_name_plural = _("Pre-session days")
        constraints = [models.UniqueConstraint(fields=["session", "date"], name="one_schedule_day_per_date")]

    def __str__(self):
        return f"{self.date:%a %d %b %Y} {self.start:%H:%M}-{self.end:%H:%M}"


class MeetingPlacement(models.Model):
    """Where and when one State's meeting is placed in the draft schedule."""

    review = models.OneToOneField(
        StateReview, verbose_name=_("State under Review"), on_delete=models.CASCADE, related_name="placement"
    )
    starts_at = models.DateTimeField(_("starts at"), null=True, blank=True)
    ends_at = models.DateTimeField(_("ends at"), null=True, blank=True)
    room = models.CharField(_("room"), max_length=100, blank=True)
    fixed = models.BooleanField(_("placed by hand"), default=False)

    class Meta:
        verbose_name = _("meeting placement")
        verbose_name_plural = _("meeting placements")

    def __str__(self):
        return f"{self.review} {self.starts_at}"


class ScheduleRelease(models.Model):
    """
    A published version of a session's schedule. Immutable once created: the
    public pages, the ICS and the JSON are all rendered from its payload, so
    unpublished edits never show and every response can be cached by release.
    """

    session = models.ForeignKey(Session, verbose_name=_("session"), on_delete=models.CASCADE, related_name="schedule_releases")
    number = models.PositiveSmallIntegerField(_("number"))
    name = models.CharField(_("version"), max_length=50)
    published_at = models.DateTimeField(_("published at"), default=timezone.now)
    payload = models.JSONField(_("schedule"))
    changes = models.JSONField(_("changes since the previous version"), default=list, blank=True)
    etag = models.CharField(max_length=64)

    class Meta:
        ordering = ["session", "-number"]
        get_latest_by = "number"
        verbose_name = _("published schedule")
        verbose_name_plural = _("published schedules")
        constraints = [models.UniqueConstraint(fields=["session", "number"], name="unique_release_number")]

    def __str__(self):
        return f"{self.session} – {self.name}"


class ScheduleSubscription(models.Model):
    """A request (double opt-in) to be told when a session's published schedule changes."""

    session = models.ForeignKey(
        Session, verbose_name=_("session"), on_delete=models.CASCADE, related_name="schedule_subscriptions"
    )
    email = models.EmailField(_("email"))
    language = models.CharField(_("language"), max_length=10, default="en")
    key = models.CharField(max_length=64, unique=True, default=new_key, editable=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    confirmed_at = models.DateTimeField(_("confirmed at"), null=True, blank=True)
    unsubscribed_at = models.DateTimeField(_("unsubscribed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("schedule subscription")
        verbose_name_plural = _("schedule subscriptions")
        constraints = [models.UniqueConstraint(fields=["session", "email"], name="one_subscription_per_email")]

    def __str__(self):
        return f"{self.email} – {self.session}"


class MissionRegistration(models.Model):
    """
    A permanent mission says which meetings of a session its delegates will attend, and how many
    (panels.attendance). It counts once its contact confirms by email (double opt-in); a later
    confirmed answer from the same address for the same mission replaces it.
    """

    session = models.ForeignKey(
        Session, verbose_name=_("session"), on_delete=models.CASCADE, related_name="mission_registrations"
    )
    mission = CountryField(_("permanent mission of"))
    email = models.EmailField(_("contact email"))
    language = models.CharField(_("language"), max_length=10, default="en")
    key = models.CharField(max_length=64, unique=True, default=new_key, editable=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    confirmed_at = models.DateTimeField(_("confirmed at"), null=True, blank=True)
    withdrawn_at = models.DateTimeField(_("withdrawn at"), null=True, blank=True)

    class Meta:
        verbose_name = _("mission registration")
        verbose_name_plural = _("mission registrations")
        indexes = [models.Index(fields=["session", "mission"], name="mission_registration_idx")]

    def __str__(self):
        return f"{self.mission.name} – {self.session}"

    @property
    def counts(self) -> bool:
        return self.confirmed_at is not None and self.withdrawn_at is None


class MissionChoice(models.Model):
    """One meeting a registered mission will attend, with how many delegates."""

    registration = models.ForeignKey(MissionRegistration, on_delete=models.CASCADE, related_name="choices")
    review = models.ForeignKey(StateReview, verbose_name=_("meeting"), on_delete=models.CASCADE, related_name="mission_choices")
    delegates = models.PositiveSmallIntegerField(
        _("delegates"), default=1, validators=[MinValueValidator(1), MaxValueValidator(MAX_DELEGATES)]
    )

    class Meta:
        verbose_name = _("meeting a mission will attend")
        verbose_name_plural = _("meetings missions will attend")
        constraints = [models.UniqueConstraint(fields=["registration", "review"], name="one_choice_per_meeting")]

    def __str__(self):
        return f"{self.registration} – {self.review}"


class MissionCheckIn(models.Model):
    """A mission that came to a meeting, recorded by staff at the door (registered or not)."""

    review = models.ForeignKey(StateReview, verbose_name=_("meeting"), on_delete=models.CASCADE, related_name="mission_check_ins")
    mission = CountryField(_("permanent mission of"))
    delegates = models.PositiveSmallIntegerField(
        _("delegates"), default=1, validators=[MinValueValidator(1), MaxValueValidator(MAX_DELEGATES)]
    )
    registered = models.BooleanField(_("had registered"), default=False)
    checked_in_at = models.DateTimeField(_("checked in at"), default=timezone.now)
    checked_in_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("checked in by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        verbose_name = _("mission at a meeting")
        verbose_name_plural = _("missions at meetings")
        constraints = [models.UniqueConstraint(fields=["review", "mission"], name="one_check_in_per_mission")]

    def __str__(self):
        return f"{self.mission.name} – {self.review}"


class TrainingDay(models.Model):
    """The one-day training of a series: when and where, editable (practice varies)."""

    session = models.OneToOneField(Session, verbose_name=_("session"), on_delete=models.CASCADE, related_name="training_day")
    date = models.DateField(_("date"))
    start = models.TimeField(_("start"), default=dt.time(9, 30), help_text=_("Geneva time."))
    end = models.TimeField(_("end"), default=dt.time(17, 0))
    place = models.CharField(_("place"), max_length=200, default="Geneva")
    notes = models.TextField(_("what speakers should know"), blank=True, help_text=_("Sent in the invitation, as it is written."))
    invited_at = models.DateTimeField(_("invitations sent at"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("training day")
        verbose_name_plural = _("training days")

    def __str__(self):
        return f"{self.session} – {self.date}"

    def clean(self):
        from django.core.exceptions import ValidationError

        if self.start and self.end and self.end <= self.start:
            raise ValidationError({"end": _("The training must end after it starts.")})
        session = Session.objects.filter(pk=self.session_id).first() if self.session_id else None
        if (
            session
            and session.start_date
            and self.date
            and not (session.start_date - dt.timedelta(days=120) <= self.date <= session.start_date)
        ):
            raise ValidationError({"date": _("Choose a day in the months before the Working Group session, not after it.")})


class VisaLetterStatus(models.TextChoices):
    REQUESTED = "requested", _("Requested")
    APPROVED = "approved", _("Approved")
    REFUSED = "refused", _("Refused")


class VisaLetter(models.Model):
    """
    A confirmed speaker's request for a visa support letter, and the coordinator's answer
    (panels.visa: the status changes only through request, approve and refuse).
    """

    member = models.OneToOneField(PanelMember, verbose_name=_("speaker"), on_delete=models.CASCADE, related_name="visa_letter")
    full_name = models.CharField(_("full name, as in the passport"), max_length=200)
    nationality = CountryField(_("nationality"))
    language = models.CharField(
        _("language of the letter"), max_length=2, choices=[("en", "English"), ("fr", "Français")], default="en"
    )
    status = models.CharField(_("status"), max_length=10, choices=VisaLetterStatus.choices, default=VisaLetterStatus.REQUESTED)
    requested_at = models.DateTimeField(_("requested at"), default=timezone.now)
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("decided by"), on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    refusal_reason = models.CharField(_("reason for refusing"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("visa support letter")
        verbose_name_plural = _("visa support letters")

    def __str__(self):
        return f"{self.full_name} – {self.get_status_display()}"


class VisaLetterText(models.Model):
    """The letter's text in one language, as staff wrote it; placeholders in braces: {name}, {nationality}, {organisation}, {state}, {start}, {end}, {place}, {session}."""

    language = models.CharField(_("language"), max_length=2, choices=[("en", "English"), ("fr", "Français")], unique=True)
    body = models.TextField(_("text"))

    class Meta:
        verbose_name = _("visa letter text")
        verbose_name_plural = _("visa letter texts")

    def __str__(self):
        return self.get_language_display()

    def clean(self):
        from .visa import check_text

        check_text(self.body)


class MeetingRecord(models.Model):
    """What happened at a meeting, recorded by staff on the day (beyond who came)."""

    review = models.OneToOneField(StateReview, verbose_name=_("meeting"), on_delete=models.CASCADE, related_name="meeting_record")
    state_statement_taken = models.BooleanField(_("the State under Review took its statement"), null=True, blank=True)
    recorded_at = models.DateTimeField(_("recorded at"), default=timezone.now)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        verbose_name = _("meeting record")
        verbose_name_plural = _("meeting records")

    def __str__(self):
        return str(self.review)
