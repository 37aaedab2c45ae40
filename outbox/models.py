"""
The outbox's records: every email the product sends (Email) and the staff-edited versions of emails (EmailTemplate).

Both tables were created when the outbox was part of the calendar app, and keep their names.
"""

import datetime as dt

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .enums import EmailStatus
from .kinds import kinds_that_replace_earlier
from .sandbox import template_errors


class EmailQuerySet(models.QuerySet):
    def due(self, moment: dt.datetime | None = None):
        return self.filter(status=EmailStatus.QUEUED, next_attempt_at__lte=moment or timezone.now())

    def abandoned(self, moment: dt.datetime | None = None):
        """Rows a worker claimed and then stopped holding: it was killed, or lost its database."""
        return self.filter(status=EmailStatus.SENDING, lease_until__lt=moment or timezone.now())

    def in_trouble(self):
        """What a coordinator should look at: emails that failed for good, or were sent again after a crash."""
        return self.filter(models.Q(status=EmailStatus.FAILED) | models.Q(lease_expiries__gt=0))

    def superseded(self):
        """Emails that a later one of the same family (e.g. decisions) to the same object replaced: never to be sent again."""
        replaced = models.Q(pk__in=[])
        for kinds in kinds_that_replace_earlier():
            later = Email.objects.filter(
                kind__in=kinds,
                content_type=models.OuterRef("content_type"),
                object_id=models.OuterRef("object_id"),
                pk__gt=models.OuterRef("pk"),
            ).exclude(status=EmailStatus.DISCARDED)
            replaced |= models.Q(kind__in=kinds) & models.Exists(later)
        return self.filter(replaced)


class Email(models.Model):
    """
    One outgoing message, stored in the outbox.

    A row is written in the same transaction as the change that causes it, so
    a message is never lost when the broker or the mail server is down: the
    periodic sweep sends whatever is still queued. `dedupe_key` makes queuing
    idempotent, and sending claims the row first, so a message is never sent
    twice.
    """

    to = models.EmailField(_("recipient"))
    kind = models.CharField(_("kind"), max_length=50, db_index=True)
    subject = models.CharField(_("subject"), max_length=300)
    body_text = models.TextField(_("text body"))
    body_html = models.TextField(_("HTML body"), blank=True)
    language = models.CharField(_("language"), max_length=10, default="en")
    headers = models.JSONField(_("extra headers"), default=dict, blank=True)
    content_type = models.ForeignKey(ContentType, on_delete=models.SET_NULL, null=True, blank=True)
    object_id = models.PositiveBigIntegerField(null=True, blank=True)
    related = GenericForeignKey("content_type", "object_id")
    status = models.CharField(_("status"), max_length=20, choices=EmailStatus.choices, default=EmailStatus.QUEUED, db_index=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)
    next_attempt_at = models.DateTimeField(_("next attempt at"), default=timezone.now, db_index=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    dedupe_key = models.CharField(_("deduplication key"), max_length=200, unique=True)
    # Groups the emails of one action, e.g. "panel-12" for the decisions of one State's panel.
    batch = models.CharField(_("batch"), max_length=50, blank=True, db_index=True)
    # A worker that claims a row holds it until then; if it dies meanwhile, the sweep sends the row again.
    lease_until = models.DateTimeField(_("held by a worker until"), null=True, blank=True)
    # Which relay holds the row (outbox.delivery.relay): one UPDATE claims many rows, and this says which.
    claim = models.CharField(_("claimed by"), max_length=32, blank=True)
    # False for a row written during a request whose subject and bodies the relay writes just before
    # sending (outbox.kinds registers, per kind, how to rebuild the email's context from `related`).
    rendered = models.BooleanField(_("written"), default=True)
    lease_expiries = models.PositiveSmallIntegerField(
        _("sent again after a worker stopped"),
        default=0,
        help_text=_(
            "The message may have left before the worker stopped: the recipient may have it twice (with the same Message-ID)."
        ),
    )

    objects = EmailQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("email")
        verbose_name_plural = _("emails (outbox)")
        indexes = [models.Index(fields=["content_type", "object_id"], name="presessions_content_4da97b_idx")]
        db_table = "presessions_email"  # the table it had before the outbox became an app of its own

    def __str__(self):
        return f"{self.kind} → {self.to}"


class EmailTemplate(models.Model):
    """
    A staff-edited version of one email, in one language, used instead of the file template.

    Subject and body are text with placeholders such as {{ organisation.name }},
    {{ review.name }}, {{ session.number }} and {{ link }}, filled in when the
    email is drafted. They render in a sandbox (outbox.kinds lists the
    placeholders each app registered), and `clean` refuses anything else. The HTML
    version is made from the text.
    """

    name = models.CharField(
        _("email"), max_length=50, help_text=_("For example decision-selected, decision-reserve, decision-not-selected.")
    )
    language = models.CharField(_("language"), max_length=10, choices=settings.LANGUAGES)
    subject = models.CharField(_("subject"), max_length=300)
    body = models.TextField(_("text"))
    active = models.BooleanField(_("in use"), default=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ["name", "language"]
        verbose_name = _("email template")
        verbose_name_plural = _("email templates")
        constraints = [models.UniqueConstraint(fields=["name", "language"], name="one_template_per_email_and_language")]
        db_table = "presessions_emailtemplate"

    def __str__(self):
        return f"{self.name} ({self.language})"

    def clean(self):
        """Refuse a subject or body that uses anything but text, the placeholders and the filters the sandbox allows."""
        errors = {}
        for field in ("subject", "body"):
            problems = template_errors(getattr(self, field), subject=field == "subject")
            if problems:
                errors[field] = problems
        if errors:
            raise ValidationError(errors)
