from django.db import models
from django.utils.translation import gettext_lazy as _


class PanelStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    FINALISED = "finalised", _("Finalised")


class MemberRole(models.TextChoices):
    SPEAKER = "speaker", _("Speaker")
    RESERVE = "reserve", _("Reserve")
    # A speaker who declined (or did not confirm in time): kept for the record, never on the panel again.
    DECLINED = "declined", _("Declined")


class StatementLanguage(models.TextChoices):
    EN = "en", _("English")
    FR = "fr", _("French")
    ES = "es", _("Spanish")
