"""
Organisations and their applications to speak at a Pre-session.

An applicant never has an account: each application carries a random link
key, and the private link to it is that key signed with the site's secret
(see `tokens.py`). A database constraint allows one application per
organisation email and State under Review.
"""

from __future__ import annotations

import secrets
import uuid

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _
from django_countries.fields import CountryField
from simple_history.models import HistoricalRecords

from outbox.enums import EmailStatus
from outbox.models import Email
from presessions.models import Call, StateReview, Theme

from .enums import (
    ApplicationStatus,
    Attendance,
    CriterionKind,
    CSOForm,
    Gender,
    NHRIStatus,
    OrganisationKind,
    Publication,
    ReportSubmission,
    Scope,
    Screening,
    WorkingLanguage,
    decision_email_kind,
)
from .scoring import Facts, pre_assess
from .tokens import make_token


def told_decisions():
    """
    The decision each applicant was last told: a decision email that has left the outbox and that no later
    decision (queued, sent or failed) replaces. At most one row per applicant (object_id is the application).
    """
    decisions = Email.objects.filter(content_type=ContentType.objects.get_for_model(Application), kind__startswith="decision-")
    later = decisions.filter(object_id=models.OuterRef("object_id"), pk__gt=models.OuterRef("pk")).exclude(
        status__in=[*EmailStatus.pending_states(), EmailStatus.DISCARDED]
    )
    return decisions.filter(status=EmailStatus.SENT).exclude(models.Exists(later))


AIM_MAX_WORDS = 200
STATEMENT_MAX_CHARS = 2000
MAX_THEMES = 3


def validate_max_words(value: str, limit: int = AIM_MAX_WORDS) -> None:
    count = len(value.split())
    if count > limit:
        raise ValidationError(
            _("Use %(limit)d words or fewer (you used %(count)d)."),
            code="max_words",
            params={"limit": limit, "count": count},
        )


def report_upload_to(instance, filename: str) -> str:
    """Store reports under a random name; the applicant's file name is never reused."""
    return f"reports/{uuid.uuid4().hex}.pdf"


def new_link_key() -> str:
    return secrets.token_urlsafe(24)


def describe_anonymously(kind: str, scope: str) -> str:
    """Describe an organisation without naming it, e.g. "a national CSO"."""
    if kind == OrganisationKind.NHRI:
        return str(_("the national human rights institution"))
    labels = {
        Scope.NATIONAL: _("a national CSO"),
        Scope.REGIONAL: _("a regional CSO"),
        Scope.INTERNATIONAL: _("an international CSO"),
    }
    return str(labels.get(scope, _("a CSO")))


class Organisation(models.Model):
    name = models.CharField(_("name of the organisation"), max_length=200)
    acronym = models.CharField(_("acronym"), max_length=30, blank=True)
    kind = models.CharField(
        _("kind of organisation"), max_length=10, choices=OrganisationKind.choices, default=OrganisationKind.CSO
    )
    cso_form = models.CharField(_("form of the CSO"), max_length=20, choices=CSOForm.choices, blank=True)
    nhri_status = models.CharField(_("GANHRI accreditation"), max_length=10, choices=NHRIStatus.choices, blank=True)
    country = CountryField(_("country where it is based"), blank=True)
    scope = models.CharField(_("scope of work"), max_length=20, choices=Scope.choices, blank=True)
    is_coalition = models.BooleanField(_("it is a coalition or network"), default=False)
    member_count = models.PositiveIntegerField(
        _("number of member organisations"), null=True, blank=True, validators=[MinValueValidator(2), MaxValueValidator(100000)]
    )
    website = models.URLField(_("website"), blank=True)
    email = models.EmailField(_("contact email"))
    established_year = models.PositiveSmallIntegerField(
        _("year established"), null=True, blank=True, validators=[MinValueValidator(1800), MaxValueValidator(2100)]
    )
    ecosoc_status = models.BooleanField(_("has ECOSOC consultative status"), default=False)
    aim = models.TextField(_("aim and work"), blank=True, validators=[validate_max_words])
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    erased_at = models.DateTimeField(_("personal data erased at"), null=True, blank=True, editable=False)
    # The same organisation across applications (see identity.py): the earliest copy, or this one.
    identity = models.ForeignKey(
        "self",
        verbose_name=_("same organisation as"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="copies",
    )
    identity_reason = models.CharField(_("matched by"), max_length=20, blank=True, editable=False)
    name_key = models.CharField(max_length=200, blank=True, db_index=True, editable=False)
    acronym_key = models.CharField(max_length=30, blank=True, db_index=True, editable=False)
    domain_key = models.CharField(max_length=200, blank=True, db_index=True, editable=False)
    web_key = models.CharField(max_length=200, blank=True, db_index=True, editable=False)

    history = HistoricalRecords(excluded_fields=["name_key", "acronym_key", "domain_key", "web_key"])

    class Meta:
        ordering = ["name"]
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations")

    def __str__(self):
        return f"{self.name} ({self.acronym})" if self.acronym else self.name

    def save(self, *args, **kwargs):
        # The email and website decide conflicts of interest (applications.conflicts): their keys
        # follow every edit, by the applicant, a new email confirmed, or a coordinator.
        from .identity import domain_key, web_key  # identity imports this module

        self.domain_key, self.web_key = domain_key(self.email), web_key(self.website)
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and {"email", "website"} & set(update_fields):
            kwargs["update_fields"] = {*update_fields, "domain_key", "web_key"}
        super().save(*args, **kwargs)

    @property
    def root_id(self) -> int:
        """The identity shared by every copy of this organisation (see identity.py): the earliest copy's id."""
        return self.identity_id or self.pk


class ApplicationQuerySet(models.QuerySet):
    def with_related(self):
        return self.select_related("organisation", "review__session__call").prefetch_related("themes")

    def submitted(self):
        return self.filter(status=ApplicationStatus.SUBMITTED)


class Application(models.Model):
    """One organisation's application to speak at the Pre-session on one State."""

    review = models.ForeignKey(
        StateReview, verbose_name=_("State under Review"), on_delete=models.PROTECT, related_name="applications"
    )
    organisation = models.ForeignKey(
        Organisation, verbose_name=_("organisation"), on_delete=models.PROTECT, related_name="applications"
    )
    email = models.EmailField(_("organisation email"), help_text=_("Stored in lower case; one application per email and State."))

    # Engagement with the UPR.
    report_submitted = models.CharField(
        _("submitted a UPR stakeholder report for this review"), max_length=10, choices=ReportSubmission.choices, blank=True
    )
    report_reference = models.CharField(_("report reference or title"), max_length=300, blank=True)
    report_file = models.FileField(_("report (PDF)"), upload_to=report_upload_to, blank=True)
    earlier_engagement = models.TextField(_("engagement in earlier UPR cycles"), blank=True, max_length=2000)

    themes = models.ManyToManyField(Theme, verbose_name=_("themes"), related_name="applications", blank=True)
    statement_summary = models.TextField(_("summary of the statement"), blank=True, max_length=STATEMENT_MAX_CHARS)

    # The speaker.
    speaker_name = models.CharField(_("speaker's full name"), max_length=200, blank=True)
    speaker_gender = models.CharField(_("speaker's gender"), max_length=20, choices=Gender.choices, blank=True)
    speaker_role = models.CharField(_("speaker's role in the organisation"), max_length=200, blank=True)
    speaker_email = models.EmailField(_("speaker's email"), blank=True)
    speaker_phone = models.CharField(_("speaker's phone number"), max_length=40, blank=True)
    working_language = models.CharField(_("working language"), max_length=5, choices=WorkingLanguage.choices, blank=True)
    accessibility_needs = models.TextField(_("accessibility needs"), blank=True, max_length=1000)
    attendance = models.CharField(_("attendance"), max_length=20, choices=Attendance.choices, blank=True)

    consent_data = models.BooleanField(_("consents to the processing of this data"), default=False)
    privacy_version = models.PositiveIntegerField(
        _("version of the privacy notice agreed to"), null=True, blank=True, editable=False
    )
    publication = models.CharField(
        _("what may be published if selected"), max_length=30, choices=Publication.choices, default=Publication.NOTHING
    )

    status = models.CharField(
        _("status"), max_length=20, choices=ApplicationStatus.choices, default=ApplicationStatus.DRAFT, db_index=True
    )
    language = models.CharField(_("language of the applicant"), max_length=10, default="en")
    link_key = models.CharField(max_length=64, unique=True, default=new_link_key, editable=False)
    form_token = models.UUIDField(null=True, blank=True, unique=True, editable=False)
    reminders_opt_out = models.BooleanField(_("no deadline reminders"), default=False)
    # A new organisation email takes effect only once its owner opens the link sent to it (see
    # domain.request_email_change): otherwise editing the email would tell anyone with one private
    # link whether another address has applied for a State.
    pending_email = models.EmailField(_("new email, not yet confirmed"), blank=True, editable=False)
    pending_email_key = models.CharField(max_length=64, blank=True, editable=False)
    pending_email_at = models.DateTimeField(null=True, blank=True, editable=False)

    # Assessment. The score fields are kept up to date by applications.assessment.update_score().
    screening = models.CharField(
        _("screening"), max_length=20, choices=Screening.choices, default=Screening.PENDING, db_index=True
    )
    screening_reason = models.CharField(
        _("reason"), max_length=300, blank=True, help_text=_("Why the application is ineligible, e.g. “not about this State”.")
    )
    score_mean = models.DecimalField(_("mean score"), max_digits=6, decimal_places=2, null=True, blank=True, editable=False)
    score_count = models.PositiveSmallIntegerField(_("assessments"), default=0, editable=False)
    score_spread = models.DecimalField(_("spread"), max_digits=6, decimal_places=2, null=True, blank=True, editable=False)
    # Kept up to date by applications.reviewing.recalibrate(): see applications/calibration.py.
    score_calibrated = models.DecimalField(
        _("calibrated score"), max_digits=6, decimal_places=2, null=True, blank=True, editable=False
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True)
    # Whether no copy of the organisation had applied to an earlier session (identity.refresh_first_time).
    # It is not personal data, so it outlives an erasure and the record can count first-timers for ever.
    first_time = models.BooleanField(_("organisation's first application"), null=True, editable=False)
    withdrawn_at = models.DateTimeField(_("withdrawn at"), null=True, blank=True)
    # Erasure (applications/privacy.py): the personal data is gone, the categories the statistics
    # need stay; the receipt is the only thing that ties the erasure to the email the applicant got.
    erased_at = models.DateTimeField(_("personal data erased at"), null=True, blank=True, editable=False, db_index=True)
    erasure_receipt = models.CharField(_("erasure receipt"), max_length=20, blank=True, editable=False)

    objects = ApplicationQuerySet.as_manager()
    history = HistoricalRecords(excluded_fields=["link_key", "form_token", "updated_at", "pending_email_key"])

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("application")
        verbose_name_plural = _("applications")
        permissions = [("coordinate", _("Can coordinate: every State, every review, rankings, exports and the dashboard"))]
        constraints = [
            models.UniqueConstraint(Lower("email"), "review", name="one_application_per_email_and_state"),
        ]

    def __str__(self):
        return f"{self.organisation.name} – {self.review.name} ({self.review.session.number})"

    def save(self, *args, **kwargs):
        self.email = self.email.strip().lower()
        super().save(*args, **kwargs)

    @property
    def call(self):
        return self.review.session.call_or_none

    def can_edit(self, moment=None) -> bool:
        call = self.call
        return self.status in ApplicationStatus.editable_states() and call is not None and call.state(moment) == "open"

    def can_withdraw(self) -> bool:
        return self.status in ApplicationStatus.editable_states()

    @cached_property
    def told(self) -> bool:
        """Whether the applicant has been sent the decision their status holds (always true before a decision)."""
        if self.status not in ApplicationStatus.told_states():
            return True
        return told_decisions().filter(object_id=self.pk, kind=decision_email_kind(self.status)).exists()

    @property
    def status_for_applicant(self) -> str:
        """The status the applicant may see: a decision shows only once its email has been sent."""
        return self.status if self.told else ApplicationStatus.SUBMITTED

    def get_status_for_applicant_display(self) -> str:
        return ApplicationStatus(self.status_for_applicant).label

    @property
    def facts(self) -> Facts:
        return Facts(
            org_country=self.organisation.country.code or "",
            review_country=self.review.country.code,
            scope=self.organisation.scope,
            is_coalition=self.organisation.is_coalition,
            report_submitted=self.report_submitted,
        )

    @property
    def assessed(self) -> dict[str, bool]:
        """The auto criteria as computed from what the applicant declared."""
        return pre_assess(self.facts)

    @property
    def is_nhri_a(self) -> bool:
        return self.organisation.kind == OrganisationKind.NHRI and self.organisation.nhri_status == NHRIStatus.A

    def get_private_url(self) -> str:
        return reverse("applications:detail", args=[make_token(self)])


class CallAlertQuerySet(models.QuerySet):
    def active(self):
        return self.filter(confirmed_at__isnull=False, unsubscribed_at__isnull=True)


class CallAlert(models.Model):
    """A request to be told, once, when a call opens for a country's Pre-session (double opt-in)."""

    email = models.EmailField(_("email"))
    country = CountryField(_("country"))
    language = models.CharField(_("language"), max_length=10, default="en")
    key = models.CharField(max_length=64, unique=True, default=new_link_key, editable=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    confirmed_at = models.DateTimeField(_("confirmed at"), null=True, blank=True)
    unsubscribed_at = models.DateTimeField(_("unsubscribed at"), null=True, blank=True)

    objects = CallAlertQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("call alert")
        verbose_name_plural = _("call alerts")
        constraints = [models.UniqueConstraint(Lower("email"), "country", name="one_alert_per_email_and_country")]

    def __str__(self):
        return f"{self.email} – {self.country.code}"

    def save(self, *args, **kwargs):
        self.email = self.email.strip().lower()
        super().save(*args, **kwargs)


class Criterion(models.Model):
    """One weighted criterion of a call's rubric; coordinators edit the weights in the admin."""

    call = models.ForeignKey(Call, verbose_name=_("call"), on_delete=models.CASCADE, related_name="criteria")
    key = models.SlugField(_("key"), max_length=40)
    label = models.CharField(_("label"), max_length=200)
    kind = models.CharField(_("kind"), max_length=10, choices=CriterionKind.choices, default=CriterionKind.RATING)
    weight = models.DecimalField(_("weight"), max_digits=5, decimal_places=2, default=1, validators=[MinValueValidator(0)])
    order = models.PositiveSmallIntegerField(_("order"), default=0)

    history = HistoricalRecords()

    class Meta:
        ordering = ["call", "order", "pk"]
        verbose_name = _("criterion")
        verbose_name_plural = _("criteria")
        constraints = [models.UniqueConstraint(fields=["call", "key"], name="unique_criterion_key_per_call")]

    def __str__(self):
        return f"{self.label} (× {self.weight})"


class Assessment(models.Model):
    """One assessor's marks for one application."""

    application = models.ForeignKey(
        Application, verbose_name=_("application"), on_delete=models.CASCADE, related_name="assessments"
    )
    assessor = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("assessor"), on_delete=models.PROTECT, related_name="assessments"
    )
    marks = models.JSONField(_("marks"), default=dict, blank=True)
    override_reasons = models.JSONField(_("reasons for overrides"), default=dict, blank=True)
    comment = models.TextField(_("comment"), blank=True)
    total = models.DecimalField(_("total"), max_digits=6, decimal_places=2, null=True, blank=True)
    conflict_of_interest = models.BooleanField(
        _("conflict of interest"), default=False, help_text=_("The assessor is excluded from this application.")
    )
    conflict_reason = models.CharField(_("nature of the conflict"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-updated_at"]
        verbose_name = _("assessment")
        verbose_name_plural = _("assessments")
        constraints = [models.UniqueConstraint(fields=["application", "assessor"], name="one_assessment_per_assessor")]

    def __str__(self):
        return f"{self.assessor} → {self.application_id}"

    @property
    def counts(self) -> bool:
        """A declared conflict excludes the assessment from the score."""
        return not self.conflict_of_interest and self.total is not None


class AssessorAssignment(models.Model):
    """An assessor may assess the applications on one State under Review."""

    assessor = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("assessor"), on_delete=models.CASCADE, related_name="assignments"
    )
    review = models.ForeignKey(
        StateReview, verbose_name=_("State under Review"), on_delete=models.CASCADE, related_name="assignments"
    )

    class Meta:
        verbose_name = _("assessor assignment")
        verbose_name_plural = _("assessor assignments")
        constraints = [models.UniqueConstraint(fields=["assessor", "review"], name="unique_assignment")]

    def __str__(self):
        return f"{self.assessor} – {self.review}"


class ReviewerProfile(models.Model):
    """What the assignment needs to know about a reviewer: how much they can take, in which languages, and their ties."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, verbose_name=_("reviewer"), on_delete=models.CASCADE, related_name="reviewer_profile"
    )
    capacity = models.PositiveSmallIntegerField(
        _("capacity"), default=60, help_text=_("The most applications this reviewer can review in one session.")
    )
    languages = models.JSONField(_("working languages"), default=list, blank=True, help_text=_("Empty: every language."))
    organisations = models.ManyToManyField(
        Organisation,
        verbose_name=_("organisations they belong to or work with"),
        blank=True,
        related_name="+",
        help_text=_("Applications from these organisations (any copy of them) are never given to this reviewer."),
    )
    domains = models.TextField(
        _("other email or web domains"),
        blank=True,
        help_text=_("One per line, e.g. partner.org. The domain of the reviewer's own email counts already."),
    )

    class Meta:
        verbose_name = _("reviewer profile")
        verbose_name_plural = _("reviewer profiles")

    def __str__(self):
        return str(self.user)

    def clean(self):
        unknown = set(self.languages or []) - {code for code, _label in WorkingLanguage.choices}
        if unknown:
            raise ValidationError({"languages": _("Unknown language: %(codes)s") % {"codes": ", ".join(sorted(unknown))}})


class ReviewAssignment(models.Model):
    """
    One reviewer asked to review one application. A proposal (applied_at empty) becomes an
    assignment when the coordinator applies it (applications.reviewing).
    """

    class Source(models.TextChoices):
        AUTO = "auto", _("Proposed by the assignment")
        MANUAL = "manual", _("Added by a coordinator")
        DISAGREEMENT = "disagreement", _("One more review: the reviews disagreed")
        LATE = "late", _("Assigned on arrival")

    application = models.ForeignKey(
        Application, verbose_name=_("application"), on_delete=models.CASCADE, related_name="review_assignments"
    )
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("reviewer"), on_delete=models.CASCADE, related_name="review_assignments"
    )
    source = models.CharField(_("source"), max_length=20, choices=Source.choices, default=Source.AUTO)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    applied_at = models.DateTimeField(_("assigned at"), null=True, blank=True)
    reminded_at = models.DateTimeField(_("reminded at"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("review assignment")
        verbose_name_plural = _("review assignments")
        constraints = [models.UniqueConstraint(fields=["application", "reviewer"], name="one_assignment_per_reviewer")]
        indexes = [models.Index(fields=["reviewer", "applied_at"])]

    def __str__(self):
        return f"{self.reviewer} → {self.application_id}"


class ReviewExclusion(models.Model):
    """
    A pair a coordinator took out: the assignment never proposes it again, and an extra review asked
    on disagreement and taken out is not asked again. Adding the pair by hand lifts it.
    """

    application = models.ForeignKey(
        Application, verbose_name=_("application"), on_delete=models.CASCADE, related_name="review_exclusions"
    )
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("reviewer"), on_delete=models.CASCADE, related_name="review_exclusions"
    )
    source = models.CharField(_("source"), max_length=20, choices=ReviewAssignment.Source.choices)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("review taken out")
        verbose_name_plural = _("reviews taken out")
        constraints = [models.UniqueConstraint(fields=["application", "reviewer"], name="one_exclusion_per_reviewer")]

    def __str__(self):
        return f"{self.reviewer} ✕ {self.application_id}"
