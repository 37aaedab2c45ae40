"""
Visa support letters. A confirmed speaker who comes in person asks for one from their private
link, with their name as in the passport and their nationality; a coordinator approves (or
refuses, saying why); the speaker then downloads the PDF, in English or French, in UPR Info's
name, with their name, organisation, the Pre-session dates and place. Staff edit the text
(VisaLetterText, one per language; placeholders in braces), else the built-in text is used.

A Schengen visa can take five weeks or more, so the latest safe date to ask is the Pre-session
week's start less PanelRules.visa_weeks_before (5, editable); a speaker asking later is warned.
"""

from __future__ import annotations

import datetime as dt
import functools
import unicodedata
from pathlib import Path

from django.db import transaction
from django.utils import formats, timezone, translation
from fpdf import FPDF

from outbox.links import dedupe_key

from .models import PanelMember, PanelRules, VisaLetter, VisaLetterStatus, VisaLetterText

FONTS = Path(__file__).parent / "fonts"

BUILT_IN = {
    "en": (
        "To the Embassy or Consulate of Switzerland\n\n"
        "Subject: invitation to the UPR Pre-sessions, Geneva\n\n"
        "UPR Info, a non-governmental organisation based in Geneva, invites {name} ({nationality}), "
        "representing {organisation}, to speak at the Pre-session on {state}, one of the UPR "
        "Pre-sessions that UPR Info holds at {place} from {start} to {end}, before session {session} of "
        "the Working Group on the Universal Periodic Review of the United Nations Human Rights Council.\n\n"
        "We would be grateful for any help you can give {name} in obtaining a visa for this purpose.\n\n"
        "UPR Info, Geneva"
    ),
    "fr": (
        "À l’Ambassade ou au Consulat de Suisse\n\n"
        "Objet : invitation aux pré-sessions de l’EPU, Genève\n\n"
        "UPR Info, organisation non gouvernementale basée à Genève, invite {name} ({nationality}), "
        "représentant {organisation}, à intervenir à la pré-session consacrée à l’État suivant : {state}, "
        "l’une des pré-sessions de l’EPU qu’UPR Info organise {place} du {start} au {end}, avant la session {session} du "
        "Groupe de travail sur l’Examen périodique universel du Conseil des droits de l’homme des Nations Unies.\n\n"
        "Nous vous serions reconnaissants de toute aide que vous pourrez apporter à {name} pour obtenir un visa à cette fin.\n\n"
        "UPR Info, Genève"
    ),
}
PLACE = {"en": "the Palais des Nations, Geneva", "fr": "au Palais des Nations, Genève"}
PLACEHOLDERS = ("name", "nationality", "organisation", "state", "start", "end", "dates", "place", "session")


def check_text(text: str) -> None:
    """Refuse a letter text with an unknown placeholder, a format or attribute trick, or a stray brace."""
    import string

    from django.core.exceptions import ValidationError
    from django.utils.translation import gettext as _

    try:
        parts = list(string.Formatter().parse(text))
    except ValueError as exc:
        raise ValidationError(_("A brace is not closed: write placeholders as {name}, and nothing else in braces.")) from exc
    for _literal, field, spec, conversion in parts:
        if field is None:
            continue
        if field not in PLACEHOLDERS or spec or conversion:
            raise ValidationError(
                _("Unknown placeholder {%(field)s}: use only %(allowed)s.")
                % {"field": field, "allowed": ", ".join("{" + p + "}" for p in PLACEHOLDERS)}
            )


class LetterNotAllowed(Exception):
    """Only a confirmed speaker who has not declined may ask, once."""


@functools.cache
def _font_characters() -> frozenset[int]:
    from fontTools.ttLib import TTFont

    with TTFont(str(FONTS / "DejaVuSans.ttf"), lazy=True) as font:
        return frozenset(font.getBestCmap())


def unwritable(text: str) -> str:
    """The characters of `text` the letter cannot print as written: missing from its font, or right-to-left (not shaped)."""
    found = []
    for char in text:
        if char.isspace():
            continue
        if ord(char) not in _font_characters() or unicodedata.bidirectional(char) in ("R", "AL"):
            if char not in found:
                found.append(char)
    return "".join(found)


def latest_safe_request(member: PanelMember) -> dt.date | None:
    session = member.panel.review.session
    timeline = session.timeline
    if timeline is None:
        return None
    weeks = PanelRules.for_session(session).visa_weeks_before
    return timeline.presessions_start - dt.timedelta(weeks=weeks)


@transaction.atomic
def request_letter(member: PanelMember, *, full_name: str, nationality: str, language: str) -> VisaLetter:
    """A confirmed speaker asks for a letter (again after a refusal: the request is renewed)."""
    member = PanelMember.objects.select_for_update().select_related("application").get(pk=member.pk)
    if not may_have_letter(member):
        raise LetterNotAllowed()
    existing = VisaLetter.objects.filter(member=member).first()
    if existing is not None and existing.status != VisaLetterStatus.REFUSED:
        raise LetterNotAllowed()
    letter, _created = VisaLetter.objects.update_or_create(
        member=member,
        defaults={
            "full_name": full_name.strip(),
            "nationality": nationality,
            "language": language if language in BUILT_IN else "en",
            "status": VisaLetterStatus.REQUESTED,
            "requested_at": timezone.now(),
            "decided_at": None,
            "decided_by": None,
            "refusal_reason": "",
        },
    )
    return letter


def may_have_letter(member: PanelMember) -> bool:
    """Only a confirmed speaker who has not declined and comes in person (a remote one needs no visa)."""
    return (
        member.role == "speaker"
        and member.confirmed_at is not None
        and member.declined_at is None
        and member.application.attendance != "remote"
        and member.application.erased_at is None
    )


REASON_MAX = 300  # a refusal's reason, which the speaker reads


def _decide(letter: VisaLetter, status: str, *, by, reason: str = "") -> VisaLetter:
    if status == VisaLetterStatus.APPROVED and not may_have_letter(
        PanelMember.objects.select_related("application").get(pk=letter.member_id)
    ):
        raise ValueError("the speaker has declined, is remote, or is no longer confirmed")
    if letter.status != VisaLetterStatus.REQUESTED:
        raise ValueError(f"a {letter.status} letter cannot become {status}")
    VisaLetter.objects.filter(pk=letter.pk, status=VisaLetterStatus.REQUESTED).update(
        status=status, decided_at=timezone.now(), decided_by=by, refusal_reason=reason.strip()[:REASON_MAX]
    )
    letter.refresh_from_db()
    return letter


def _tell_speaker(letter: VisaLetter, kind: str, key: str, **context) -> None:
    """Email the speaker about their request, in their language, with the link to their participation page."""
    from applications.tokens import make_token
    from outbox.delivery import queue_email
    from outbox.links import absolute

    application = letter.member.application
    queue_email(
        to=application.speaker_email or application.email,
        name=kind,
        context={
            "session": letter.member.panel.review.session,
            "link": absolute("panels:participation", make_token(application)),
            **context,
        },
        language=application.language,
        dedupe_key=key,
        related=application,
    )


@transaction.atomic
def approve(letter: VisaLetter, *, by) -> VisaLetter:
    """Approve a request; the speaker is emailed that the letter is on their participation page."""
    letter = _decide(letter, VisaLetterStatus.APPROVED, by=by)
    _tell_speaker(letter, "visa-letter-ready", dedupe_key("visa-letter-ready", letter.pk))
    return letter


@transaction.atomic
def refuse(letter: VisaLetter, *, by, reason: str) -> VisaLetter:
    """Refuse a request, with the reason the speaker reads; the speaker is emailed to look at their page."""
    if len(reason.strip()) > REASON_MAX:
        raise ValueError("the reason is too long")
    letter = _decide(letter, VisaLetterStatus.REFUSED, by=by, reason=reason)
    # A request renewed after a refusal may be refused again: each refusal is its own email.
    key = dedupe_key("visa-letter-refused", letter.pk, int(letter.requested_at.timestamp() * 1_000_000))
    _tell_speaker(letter, "visa-letter-refused", key, reason=letter.refusal_reason)
    return letter


class _SafeDict(dict):
    def __missing__(self, key):
        return "{" + key + "}"


def letter_text(letter: VisaLetter) -> str:
    """The letter's text in its language, placeholders filled."""
    member = letter.member
    review = member.panel.review
    session = review.session
    timeline = session.timeline
    with translation.override(letter.language):
        if timeline is not None:
            start = formats.date_format(timeline.presessions_start, "DATE_FORMAT")
            end = formats.date_format(timeline.presessions_end, "DATE_FORMAT")
        else:
            start = end = ""
        values = {
            "name": letter.full_name,
            "nationality": str(letter.nationality.name),
            "organisation": member.application.organisation.name,
            "state": str(review.name),
            "start": start,
            "end": end,
            "dates": f"{start} – {end}",
            "place": PLACE[letter.language],
            "session": session.number,
        }
    custom = VisaLetterText.objects.filter(language=letter.language).first()
    if custom is not None:
        try:
            check_text(custom.body)
            return custom.body.format_map(_SafeDict(values))
        except Exception:  # noqa: BLE001 -- a text saved before the check: the built-in one serves
            pass
    return BUILT_IN[letter.language].format_map(_SafeDict(values))


def render_pdf(letter: VisaLetter) -> bytes:
    """The approved letter as a one-page A4 PDF, in a font that writes every alphabet's names."""
    pdf = FPDF(format="A4")
    pdf.set_title("Visa support letter")
    pdf.set_author("UPR Info")
    pdf.add_font("DejaVu", "", str(FONTS / "DejaVuSans.ttf"))
    pdf.add_font("DejaVu", "B", str(FONTS / "DejaVuSans-Bold.ttf"))
    pdf.add_page()
    pdf.set_margins(25, 25, 25)
    pdf.set_font("DejaVu", "B", 16)
    pdf.cell(0, 10, "UPR Info", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", "", 9)
    pdf.cell(0, 5, "Genève, Suisse" if letter.language == "fr" else "Geneva, Switzerland", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(8)
    pdf.set_font("DejaVu", "", 11)
    with translation.override(letter.language):
        today = formats.date_format(timezone.localdate(letter.decided_at or timezone.now()), "DATE_FORMAT")
    pdf.cell(0, 6, today, align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(6)
    for paragraph in letter_text(letter).split("\n"):
        if paragraph.strip():
            pdf.multi_cell(0, 6, paragraph, new_x="LMARGIN", new_y="NEXT")
        else:
            pdf.ln(4)
    return bytes(pdf.output())
