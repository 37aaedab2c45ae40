"""
The application form: two model forms (the organisation, the application)
shown as one page of fieldsets.

A submitted application must be complete; a draft ("save and continue
later") needs only the State and the organisation's email, but whatever is
filled in is still checked.
"""

from __future__ import annotations

import functools

from crispy_forms.helper import FormHelper
from crispy_forms.layout import HTML, Field, Fieldset, Layout
from django import forms
from django.conf import settings
from django.urls import reverse
from django.utils.formats import number_format
from django.utils.functional import cached_property
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django_countries import countries
from django_countries.fields import LazyTypedChoiceField
from pypdf import PdfReader

from presessions.countries import display_name, fold, un_names
from presessions.models import Theme

from . import scoring
from .enums import OrganisationKind, ReportSubmission
from .models import AIM_MAX_WORDS, MAX_THEMES, STATEMENT_MAX_CHARS, Application, Organisation

PDF_MAGIC = b"%PDF-"
PDF_END = b"%%EOF"
PDF_MAX_PAGES = 2000


def validate_pdf(upload) -> None:
    """
    Accept a PDF of at most 10 MB, judged by its content, never by its name.

    The file must start like a PDF, end like one (a file cut short by a slow connection lacks its
    "%%EOF"), and open with pypdf with at least one page: an HTML page renamed ".pdf", or one that
    merely mentions "%PDF-", is refused.
    """
    limit = settings.APPLICATION_UPLOAD_MAX_BYTES
    if upload.size > limit:
        raise forms.ValidationError(
            _("The file must be smaller than %(mb)d MB."), code="too_big", params={"mb": limit // (1024 * 1024)}
        )
    upload.seek(0)
    head = upload.read(1024)
    if not head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(PDF_MAGIC):
        upload.seek(0)
        raise forms.ValidationError(_("The selected file must be a PDF."), code="not_pdf")
    upload.seek(max(0, upload.size - 2048))
    complete = PDF_END in upload.read()
    upload.seek(0)
    pages = _page_count(upload) if complete else 0
    upload.seek(0)
    if pages > PDF_MAX_PAGES:
        raise forms.ValidationError(
            _("The PDF has more than %(max)d pages. Send a shorter document."), code="too_long", params={"max": PDF_MAX_PAGES}
        )
    if pages < 1:
        raise forms.ValidationError(
            _(
                "The selected file could not be opened as a PDF: it may be damaged or incomplete. Save it again as a PDF and choose it again."
            ),
            code="damaged_pdf",
        )


def _page_count(upload) -> int:
    """
    The number of pages a PDF declares, read from its page tree's root (0 if it cannot be read).

    The pages themselves are not walked: a file made to hold a hundred thousand pages would cost
    seconds and hundreds of megabytes to flatten. Checking that the first entry of the tree is a
    page, or a node of pages, is enough to tell a PDF from something else.
    """
    try:
        tree = PdfReader(upload, strict=False).trailer["/Root"]["/Pages"]
        first = tree["/Kids"][0].get_object()
        if first.get("/Type") not in ("/Page", "/Pages"):
            return 0
        return int(tree["/Count"])
    except Exception:  # noqa: BLE001 -- pypdf raises many kinds of errors for a damaged file
        return 0


def form_helper(*layout) -> FormHelper:
    """A crispy helper for a form rendered inside a larger <form> (no tag, no CSRF of its own)."""
    helper = FormHelper()
    helper.form_tag = False
    helper.disable_csrf = True
    helper.layout = Layout(*layout)
    return helper


def _radio_choices(field: forms.ChoiceField) -> None:
    """Drop the "---------" placeholder from a field shown as radio buttons."""
    field.choices = [(value, label) for value, label in field.choices if value != ""]


MAX_PK = 2**63 - 1


def _is_pk(value) -> bool:
    """A primary key as posted: ASCII digits that fit a 64-bit integer (the database would overflow otherwise)."""
    text = str(value).strip()
    return text.isascii() and text.isdigit() and int(text) <= MAX_PK


def posted_pk(value) -> int | None:
    """A posted primary key as an int, or None when it is not one (missing, "²", too large for the database)."""
    return int(str(value).strip()) if value is not None and _is_pk(value) else None


class LocalizedThemeIterator(forms.models.ModelChoiceIterator):
    """The themes in the alphabetical order of the active language, accents aside."""

    def __iter__(self):
        if self.field.empty_label is not None:
            yield ("", self.field.empty_label)
        for theme in sorted(self.queryset, key=lambda theme: fold(theme.localized_label)):
            yield self.choice(theme)


class ThemeChoiceField(forms.ModelMultipleChoiceField):
    iterator = LocalizedThemeIterator

    def label_from_instance(self, obj):
        return obj.localized_label

    def _check_values(self, value):
        for item in value:
            if not _is_pk(item):
                raise forms.ValidationError(self.error_messages["invalid_pk_value"], code="invalid_pk_value", params={"pk": item})
        return super()._check_values(value)


class ReviewChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return obj.name

    def to_python(self, value):
        if value not in self.empty_values and not _is_pk(value):
            raise forms.ValidationError(self.error_messages["invalid_choice"], code="invalid_choice")
        return super().to_python(value)


@functools.cache
def _country_codes() -> frozenset[str]:
    return frozenset(code for code, _name in countries)


class CountryCodeField(LazyTypedChoiceField):
    """
    django-countries' form field, checking a posted code against the set of codes.

    The stock field walks the 250 translated names for each post, twice with the model's own
    check (about a millisecond, a tenth of a submission's cost on deadline day).
    """

    def valid_value(self, value) -> bool:
        return str(value) in _country_codes()


def _formfield(model_field, **kwargs):
    if model_field.name == "country":
        return model_field.formfield(choices_form_class=CountryCodeField, **kwargs)
    return model_field.formfield(**kwargs)


class OrganisationForm(forms.ModelForm):
    REQUIRED = ["name", "kind", "country", "scope", "email"]

    website = forms.URLField(
        label=_("website"),
        required=False,
        assume_scheme="https",
        max_length=200,
        widget=forms.URLInput(attrs={"placeholder": "https://"}),
        error_messages={"invalid": _("Enter a web address in the correct format, like https://www.example.org")},
    )

    class Meta:
        model = Organisation
        formfield_callback = _formfield
        fields = [
            "name",
            "acronym",
            "kind",
            "cso_form",
            "nhri_status",
            "country",
            "scope",
            "is_coalition",
            "member_count",
            "website",
            "email",
            "established_year",
            "ecosoc_status",
            "aim",
        ]
        widgets = {
            "kind": forms.RadioSelect,
            "nhri_status": forms.RadioSelect,
            "scope": forms.RadioSelect,
            "aim": forms.Textarea(attrs={"rows": 5}),
            "email": forms.EmailInput(attrs={"autocomplete": "email"}),
            "member_count": forms.NumberInput(attrs={"inputmode": "numeric", "min": 2}),
            "established_year": forms.NumberInput(attrs={"inputmode": "numeric", "min": 1800, "max": 2100}),
        }
        help_texts = {
            "email": _("We send the confirmation and the private link to your application to this address."),
            "scope": _("National: your organisation works mainly in the State under Review."),
            "member_count": _("Only for a coalition or network: a whole number."),
            "nhri_status": _("Only for an NHRI."),
            "cso_form": _("Only for a CSO."),
            "website": _("For example https://www.example.org"),
        }
        error_messages = {
            "email": {"invalid": _("Enter an email address in the correct format, like name@example.org")},
            "member_count": {"invalid": _("Enter the number of members as a whole number, like 12")},
            "established_year": {"invalid": _("Enter the year as 4 digits, like 1998")},
        }

    def __init__(self, *args, draft: bool = False, **kwargs):
        super().__init__(*args, prefix="org", **kwargs)
        self.draft = draft
        for name, field in self.fields.items():
            field.required = name == "email" or (not draft and name in self.REQUIRED)
        for name in ["kind", "nhri_status", "scope"]:
            _radio_choices(self.fields[name])
        # Built here, in the request's language: a lazy text formatted with % at import time stays English.
        self.fields["aim"].help_text = gettext("%(words)d words at most.") % {"words": AIM_MAX_WORDS}
        self.fields["name"].error_messages["required"] = _("Enter the name of your organisation")
        self.fields["email"].error_messages["required"] = _("Enter your organisation's email address")
        self.fields["kind"].error_messages["required"] = _("Select whether your organisation is a CSO or an NHRI")
        self.fields["country"].error_messages["required"] = _("Select the country where your organisation is based")
        self.fields["scope"].error_messages["required"] = _("Select the scope of your organisation's work")

    @cached_property
    def helper(self) -> FormHelper:
        """The layout, built only when the form is shown (a valid post never needs it)."""
        # Every field in Meta order, the last one ("aim") with its word limit for the counter.
        return form_helper(Fieldset(_("Your organisation"), *self.Meta.fields[:-1], Field("aim", data_max_words=AIM_MAX_WORDS)))

    def _get_validation_exclusions(self):
        # The form field has checked the country code against the same list as the model's.
        return super()._get_validation_exclusions() | {"country"}

    def clean(self):
        data = super().clean()
        if self.draft:
            return data
        if data.get("kind") == OrganisationKind.CSO and not data.get("cso_form"):
            self.add_error("cso_form", _("Select the form of your organisation"))
        if data.get("kind") == OrganisationKind.NHRI and not data.get("nhri_status"):
            self.add_error("nhri_status", _("Select your institution's GANHRI accreditation status"))
        if data.get("kind") == OrganisationKind.CSO:
            data["nhri_status"] = ""
        elif data.get("kind") == OrganisationKind.NHRI:
            data["cso_form"] = ""
        if data.get("is_coalition") and not data.get("member_count") and "member_count" not in self.errors:
            self.add_error("member_count", _("Enter how many member organisations the coalition has"))
        return data


class ApplicationForm(forms.ModelForm):
    REQUIRED = [
        "review",
        "report_submitted",
        "themes",
        "statement_summary",
        "speaker_name",
        "speaker_gender",
        "speaker_role",
        "speaker_email",
        "working_language",
        "attendance",
        "publication",
    ]

    form_token = forms.UUIDField(widget=forms.HiddenInput, required=False)
    # A honeypot: hidden from people (and from assistive technology), filled in by bots.
    contact_time = forms.CharField(required=False, label=_("Leave this field empty"))

    class Meta:
        model = Application
        fields = [
            "review",
            "report_submitted",
            "report_reference",
            "report_file",
            "earlier_engagement",
            "themes",
            "statement_summary",
            "speaker_name",
            "speaker_gender",
            "speaker_role",
            "speaker_email",
            "speaker_phone",
            "working_language",
            "accessibility_needs",
            "attendance",
            "consent_data",
            "publication",
        ]
        field_classes = {"themes": ThemeChoiceField, "review": ReviewChoiceField}
        widgets = {
            "report_submitted": forms.RadioSelect,
            "themes": forms.CheckboxSelectMultiple,
            "speaker_gender": forms.RadioSelect,
            "working_language": forms.RadioSelect,
            "attendance": forms.RadioSelect,
            "publication": forms.RadioSelect,
            "statement_summary": forms.Textarea(attrs={"rows": 8, "maxlength": STATEMENT_MAX_CHARS}),
            "earlier_engagement": forms.Textarea(attrs={"rows": 3}),
            "accessibility_needs": forms.Textarea(attrs={"rows": 2}),
            "report_file": forms.ClearableFileInput(attrs={"accept": "application/pdf,.pdf"}),
            "speaker_email": forms.EmailInput(attrs={"autocomplete": "email"}),
            "speaker_phone": forms.TextInput(attrs={"autocomplete": "tel", "inputmode": "tel"}),
        }
        labels = {"review": _("State under Review")}
        help_texts = {
            "review": _("The State your statement is about. Apply once for each State."),
            "report_reference": _("For example the title of the report, or the symbol of the joint submission."),
            "report_file": _("Optional. A PDF of at most 10 MB."),
            "speaker_phone": _("With the country code, for example +41 22 000 00 00."),
            "accessibility_needs": _("Optional. Tell us anything that would help the speaker take part."),
            "publication": _(
                "Human rights defenders who engage with the UN can face reprisals. Nothing is published unless you choose it here."
            ),
        }
        error_messages = {
            "speaker_email": {"invalid": _("Enter an email address in the correct format, like name@example.org")},
        }

    def __init__(self, *args, session, draft: bool = False, **kwargs):
        super().__init__(*args, prefix="app", **kwargs)
        self.draft = draft
        self.fields["review"].queryset = session.reviews.taking_place().filter(meeting_not_held=False).order_by("order")
        self.fields["review"].empty_label = _("Choose a State")
        self.fields["themes"].queryset = Theme.objects.filter(active=True)
        for name, field in self.fields.items():
            if name in self.Meta.fields:
                field.required = name == "review" or (not draft and name in self.REQUIRED)
        for name in ["report_submitted", "speaker_gender", "working_language", "attendance", "publication"]:
            _radio_choices(self.fields[name])
        # Built here, in the request's language: a lazy text formatted with % at import time stays English.
        self.fields["themes"].help_text = gettext("Choose 1 to %(max)d themes.") % {"max": MAX_THEMES}
        self.fields["statement_summary"].help_text = gettext(
            "What you would say in 5 minutes: the main issues and your recommendations. Up to %(max)s characters."
        ) % {"max": number_format(STATEMENT_MAX_CHARS, force_grouping=True)}
        messages = {
            "review": _("Choose the State your statement is about"),
            "report_submitted": _("Say whether your organisation submitted a UPR report"),
            "themes": _("Choose at least one theme"),
            "statement_summary": _("Enter a summary of your statement"),
            "speaker_name": _("Enter the speaker's full name"),
            "speaker_gender": _("Select the speaker's gender, or “Prefer not to say”"),
            "speaker_role": _("Enter the speaker's role in the organisation"),
            "speaker_email": _("Enter the speaker's email address"),
            "working_language": _("Select the speaker's working language"),
            "attendance": _("Select how the speaker would attend"),
            "publication": _("Choose what may be published if you are selected"),
        }
        for name, message in messages.items():
            self.fields[name].error_messages["required"] = message
        self.fields["review"].error_messages["invalid_choice"] = _("Choose one of the States reviewed in this session")
        self.fields["themes"].error_messages["invalid_choice"] = _("Choose themes from the list")
        self.fields["consent_data"].label = _(
            "I agree that UPR Info stores and uses this information to select the speakers and organise the Pre-session."
        )
        self.fields["consent_data"].help_text = format_html(
            '<a href="{}" target="_blank" rel="noopener">{}</a>',
            reverse("presessions:privacy"),
            _("Read the privacy notice (opens in a new tab): what we hold, who sees it, how long we keep it, how to erase it."),
        )
        self.fields["contact_time"].widget.attrs.update({"autocomplete": "off", "tabindex": "-1"})

    def _get_validation_exclusions(self):
        # The State was looked up by the form field in this session's reviews: no second query.
        return super()._get_validation_exclusions() | {"review"}

    @cached_property
    def state_helper(self) -> FormHelper:
        return form_helper(Fieldset(_("State under Review"), "review"))

    @cached_property
    def helper(self) -> FormHelper:
        """The layout, built only when the form is shown (a valid post never needs it)."""
        return form_helper(
            Fieldset(
                _("Your engagement with the UPR"), "report_submitted", "report_reference", "report_file", "earlier_engagement"
            ),
            Fieldset(
                _("Your statement"),
                "themes",
                Field("statement_summary", data_counter="true"),
                HTML(
                    format_html(
                        '<p class="form-text char-count" id="id_app-statement_summary-count" aria-live="polite" '
                        'data-template="{}" hidden></p>',
                        gettext("%s characters left"),
                    )
                ),
            ),
            Fieldset(
                _("The speaker"),
                "speaker_name",
                "speaker_gender",
                "speaker_role",
                "speaker_email",
                "speaker_phone",
                "working_language",
                "accessibility_needs",
                "attendance",
            ),
            Fieldset(_("Consent and publication"), "consent_data", "publication"),
            HTML('<div class="hp-field" aria-hidden="true">'),
            "contact_time",
            HTML("</div>"),
        )

    def clean_themes(self):
        themes = self.cleaned_data.get("themes")
        count = len(themes) if themes is not None else 0
        if count > MAX_THEMES:
            raise forms.ValidationError(_("Choose at most %(max)d themes"), code="too_many", params={"max": MAX_THEMES})
        return themes

    def clean_consent_data(self):
        consent = self.cleaned_data.get("consent_data")
        if not consent and not self.draft:
            raise forms.ValidationError(_("You must agree to the processing of this information to apply"), code="required")
        return consent

    def clean_report_file(self):
        upload = self.cleaned_data.get("report_file")
        if upload and hasattr(upload, "content_type"):  # a new upload, not the stored file
            validate_pdf(upload)
        return upload

    def clean_contact_time(self):
        if self.cleaned_data.get("contact_time"):
            raise forms.ValidationError(_("Leave this field empty"), code="honeypot")
        return ""

    def clean(self):
        data = super().clean()
        if self.draft and data.get("accessibility_needs") and not data.get("consent_data"):
            # Health data is kept only with the applicant's consent, even in a draft.
            self.add_error(
                "accessibility_needs",
                _("To save accessibility needs, tick the consent box below, or leave this field empty for now"),
            )
        if not self.draft and data.get("report_submitted") in (ReportSubmission.ALONE, ReportSubmission.JOINT):
            if not data.get("report_reference") and not data.get("report_file"):
                self.add_error("report_reference", _("Give the report's title or reference, or upload it"))
        return data


class CallAlertForm(forms.Form):
    email = forms.EmailField(
        label=_("Your email address"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
        error_messages={
            "required": _("Enter your email address"),
            "invalid": _("Enter an email address in the correct format, like name@example.org"),
        },
    )
    country = forms.ChoiceField(
        label=_("Country"),
        help_text=_("We email you once, when the call for this country's Pre-session opens."),
        error_messages={"required": _("Choose a country"), "invalid_choice": _("Choose a UN Member State from the list")},
    )
    website = forms.CharField(required=False, label=_("Leave this field empty"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        names = sorted(((code, display_name(code)) for code in un_names()), key=lambda item: item[1])
        self.fields["country"].choices = [("", _("Choose a country")), *names]
        self.fields["website"].widget.attrs.update({"autocomplete": "off", "tabindex": "-1"})

    def clean_website(self):
        if self.cleaned_data.get("website"):
            raise forms.ValidationError(_("Leave this field empty"), code="honeypot")
        return ""


class AssessmentForm(forms.Form):
    """One assessor's marks, built from the call's rubric; the weighted total is computed by applications.scoring."""

    conflict_of_interest = forms.BooleanField(
        label=_("I have a conflict of interest with this application"),
        required=False,
        help_text=_("You will be excluded from this application and your marks will not count."),
    )
    conflict_reason = forms.CharField(label=_("Nature of the conflict"), required=False, max_length=300)
    comment = forms.CharField(label=_("Comment"), required=False, widget=forms.Textarea(attrs={"rows": 4}), max_length=4000)

    def __init__(self, *args, criteria, assessed: dict, assessment=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.criteria = list(criteria)
        self.assessed = assessed
        marks = assessment.marks if assessment else {}
        reasons = assessment.override_reasons if assessment else {}
        if assessment:
            self.fields["comment"].initial = assessment.comment
            self.fields["conflict_of_interest"].initial = assessment.conflict_of_interest
            self.fields["conflict_reason"].initial = assessment.conflict_reason
        fields = {}
        for criterion in self.criteria:
            name = f"mark_{criterion.key}"
            label = f"{criterion.label} (× {criterion.weight.normalize()})"
            if criterion.kind == "auto":
                computed = assessed.get(criterion.key)
                current = marks.get(criterion.key, computed)
                fields[name] = forms.TypedChoiceField(
                    label=label,
                    choices=[("yes", _("Yes")), ("no", _("No"))],
                    coerce=lambda value: value == "yes",
                    widget=forms.RadioSelect(attrs={"data-weight": criterion.weight, "data-kind": "auto"}),
                    initial="yes" if current else "no",
                    help_text=(_("Pre-assessed from the application: %(value)s") % {"value": _("Yes") if computed else _("No")})
                    if computed is not None
                    else "",
                )
                fields[f"reason_{criterion.key}"] = forms.CharField(
                    label=_("Reason for overriding the pre-assessment"),
                    required=False,
                    max_length=300,
                    initial=reasons.get(criterion.key, ""),
                )
            else:
                fields[name] = forms.TypedChoiceField(
                    label=label,
                    choices=[(str(i), str(i)) for i in range(1, 6)],
                    coerce=int,
                    required=False,
                    widget=forms.RadioSelect(attrs={"data-weight": criterion.weight, "data-kind": "rating"}),
                    initial=str(marks[criterion.key]) if criterion.key in marks else None,
                )
        self.fields = {**fields, **self.fields}

    def criterion_rows(self):
        """(mark field, reason field or None) for each criterion, for the assessment page."""
        return [(self[f"mark_{c.key}"], self[f"reason_{c.key}"] if c.kind == "auto" else None) for c in self.criteria]

    def other_fields(self):
        return [self[name] for name in ("conflict_of_interest", "conflict_reason", "comment")]

    @property
    def marks(self) -> dict:
        return {
            c.key: self.cleaned_data.get(f"mark_{c.key}")
            for c in self.criteria
            if self.cleaned_data.get(f"mark_{c.key}") not in ("", None)
        }

    @property
    def reasons(self) -> dict:
        return {c.key: self.cleaned_data.get(f"reason_{c.key}", "") for c in self.criteria if c.kind == "auto"}

    def clean(self):
        data = super().clean()
        if data.get("conflict_of_interest"):
            if not (data.get("conflict_reason") or "").strip():
                self.add_error("conflict_reason", _("Say briefly what the conflict is"))
            return data
        for key, problem in scoring.check_marks(self.marks, self.reasons, self.criteria, self.assessed).items():
            if problem == "reason":
                self.add_error(f"reason_{key}", _("Give a reason for overriding the pre-assessment."))
            else:
                self.add_error(f"mark_{key}", _("Give a rating from 1 to 5."))
        return data


class EraseForm(forms.Form):
    confirm = forms.BooleanField(
        label=_(
            "I understand that the application and everything we hold about it will be erased, and that this cannot be undone."
        ),
        error_messages={"required": _("Tick the box to confirm that you want to erase the application")},
    )
