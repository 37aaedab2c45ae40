from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OutboxConfig(AppConfig):
    """
    The outbox: every email the product sends, stored before it is sent. A leaf app: it knows no
    other app of the project; they register their email kinds and placeholders with it (outbox.kinds).
    """

    name = "outbox"
    verbose_name = _("Outbox")
