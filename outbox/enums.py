from django.db import models
from django.utils.translation import gettext_lazy as _


class EmailStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")
    DRAFT = "draft", _("Draft, waiting for approval")
    APPROVED = "approved", _("Approved, not sent yet")
    DISCARDED = "discarded", _("Discarded: replaced before it was sent")

    @classmethod
    def pending_states(cls):
        """Written, not yet handed to the mail server: a coordinator may still approve (or the system discard) it."""
        return [cls.DRAFT, cls.APPROVED]
