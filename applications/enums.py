from django.db import models
from django.utils.translation import gettext_lazy as _


class OrganisationKind(models.TextChoices):
    CSO = "cso", _("Civil society organisation (CSO)")
    NHRI = "nhri", _("National human rights institution (NHRI)")


class CSOForm(models.TextChoices):
    NGO = "ngo", _("Non-governmental organisation")
    COALITION = "coalition", _("Coalition or network")
    ACADEMIC = "academic", _("Academic institution")
    FAITH_BASED = "faith_based", _("Faith-based organisation")
    TRADE_UNION = "trade_union", _("Trade union")
    OTHER = "other", _("Other")


class NHRIStatus(models.TextChoices):
    A = "a", _("A status (fully compliant with the Paris Principles)")
    B = "b", _("B status (partially compliant)")
    NONE = "none", _("Not accredited")


class Scope(models.TextChoices):
    NATIONAL = "national", _("National")
    REGIONAL = "regional", _("Regional")
    INTERNATIONAL = "international", _("International")


class ReportSubmission(models.TextChoices):
    NONE = "none", _("No")
    ALONE = "alone", _("Yes, on our own")
    JOINT = "joint", _("Yes, as part of a joint submission")


class Gender(models.TextChoices):
    WOMAN = "woman", _("Woman")
    MAN = "man", _("Man")
    NON_BINARY = "non_binary", _("Non-binary")
    UNDISCLOSED = "undisclosed", _("Prefer not to say")


class Attendance(models.TextChoices):
    IN_PERSON = "in_person", _("In person, in Geneva")
    REMOTE = "remote", _("Remotely")


class WorkingLanguage(models.TextChoices):
    EN = "en", _("English")
    FR = "fr", _("French")
    ES = "es", _("Spanish")


class Publication(models.TextChoices):
    """What the public schedule may show if the applicant is selected; the most cautious is the default."""

    NOTHING = "nothing", _("Neither: show only the kind of organisation (for example “a national CSO”)")
    ORGANISATION = "organisation", _("The organisation's name only")
    NAME_AND_ORGANISATION = "name_and_organisation", _("The speaker's name and the organisation's name")


class ApplicationStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SUBMITTED = "submitted", _("Submitted")
    WITHDRAWN = "withdrawn", _("Withdrawn")
    # Set when a panel is finalised (panels.domain).
    SELECTED = "selected", _("Selected")
    RESERVE = "reserve", _("On the reserve list")
    NOT_SELECTED = "not_selected", _("Not selected")
    DECLINED = "declined", _("Declined")

    @classmethod
    def decided_states(cls):
        return [cls.SELECTED, cls.RESERVE, cls.NOT_SELECTED, cls.DECLINED]

    @classmethod
    def editable_states(cls):
        return [cls.DRAFT, cls.SUBMITTED]

    @classmethod
    def told_states(cls):
        """The decisions an applicant learns from an email that a coordinator approves and sends."""
        return [cls.SELECTED, cls.RESERVE, cls.NOT_SELECTED]


def decision_email_kind(status: str) -> str:
    """The outbox kind of the email that tells an applicant a decision, e.g. "decision-not-selected"."""
    return "decision-" + status.replace("_", "-")


class Screening(models.TextChoices):
    PENDING = "pending", _("Not screened yet")
    ELIGIBLE = "eligible", _("Eligible")
    INELIGIBLE = "ineligible", _("Ineligible")


class CriterionKind(models.TextChoices):
    AUTO = "auto", _("Yes or no, pre-assessed from the application")
    RATING = "rating", _("Rating from 1 to 5")
