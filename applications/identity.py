"""
One identity per organisation, across its applications, States and cycles.

Every application stores the organisation as the applicant described it then (an applicant can
only ever edit their own copy). The copies of one organisation share an identity: the first copy
seen, which each later copy points to through `Organisation.identity`. A new copy is matched, in
order of strength, by

1. the domain of its email (not a webmail domain such as gmail.com),
2. the host of its website (not a social network or a blog host),
3. its name, written the same once accents, case, punctuation and "the" are set aside, in the same country,
4. its acronym, in the same country.

Staff see the match and its reason, and can merge two identities or split a copy off (each kept
in the organisation's history). The composer's one-speaker-per-organisation rule counts
identities, not copies.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from urllib.parse import urlsplit

from django.db import transaction
from django.db.models import Case, IntegerField, Q, QuerySet, Value, When
from django.utils.translation import gettext_lazy as _

from .enums import ApplicationStatus
from .models import Application, Organisation

WEBMAIL = frozenset(
    """
    gmail.com googlemail.com yahoo.com yahoo.fr yahoo.es yahoo.co.uk ymail.com hotmail.com hotmail.fr hotmail.es
    outlook.com outlook.fr outlook.es live.com live.fr msn.com aol.com icloud.com me.com mail.com gmx.com gmx.net
    gmx.de web.de protonmail.com proton.me pm.me yandex.ru yandex.com mail.ru inbox.ru bk.ru list.ru rambler.ru
    orange.fr wanadoo.fr free.fr laposte.net sfr.fr qq.com 163.com 126.com sina.com naver.com rediffmail.com
    zoho.com tutanota.com riseup.net hushmail.com fastmail.com
    example.org example.com example.net
    """.split()
)  # webmail, and the domains reserved for examples (RFC 2606): shared by people of many organisations
SHARED_HOSTS = frozenset(
    """
    facebook.com fb.com twitter.com x.com instagram.com linkedin.com youtube.com tiktok.com wordpress.com
    blogspot.com medium.com wixsite.com sites.google.com linktr.ee github.io weebly.com
    """.split()
)
STOPWORDS = {"the", "la", "le", "les", "el", "los", "las", "l"}

REASONS = {
    "domain": _("same email domain"),
    "website": _("same website"),
    "name": _("same name, same country"),
    "acronym": _("same acronym, same country"),
    "merged": _("merged by staff"),
    "split": _("kept apart by staff"),
}


def fold(text: str) -> str:
    """Lower case, without accents or punctuation: "L'Ordre  des Avocats!" -> "l ordre des avocats"."""
    text = unicodedata.normalize("NFKD", text or "")
    text = "".join(c for c in text if not unicodedata.combining(c)).lower()
    text = text.replace("&", " and ").replace("’", "'")
    return " ".join(re.sub(r"[^0-9a-z]+", " ", text).split())


def name_key(name: str) -> str:
    """The name as compared: folded, without a trailing "(ACRONYM)" and without articles."""
    name = re.sub(r"\([^)]*\)\s*$", "", name or "")
    return " ".join(w for w in fold(name).split() if w not in STOPWORDS)[:200]


def acronym_key(acronym: str) -> str:
    key = re.sub(r"[^0-9A-Z]", "", fold(acronym).upper())
    return key if len(key) >= 2 else ""


def domain_key(email: str) -> str:
    domain = (email or "").rpartition("@")[2].strip().lower().rstrip(".")
    return "" if not domain or domain in WEBMAIL else domain[:200]


def web_key(url: str) -> str:
    try:
        host = (urlsplit(url if "//" in (url or "") else f"//{url}").hostname or "").lower()
    except ValueError:
        return ""
    host = host.rstrip(".").removeprefix("www.")
    if not host or host in SHARED_HOSTS or any(host.endswith("." + shared) for shared in SHARED_HOSTS):
        return ""
    return host[:200]


def set_keys(organisation: Organisation) -> None:
    organisation.name_key = name_key(organisation.name)
    organisation.acronym_key = acronym_key(organisation.acronym)
    organisation.domain_key = domain_key(organisation.email)
    organisation.web_key = web_key(organisation.website)


def find_match(organisation: Organisation) -> tuple[Organisation | None, str]:
    """The earliest other copy that matches `organisation` by the strongest rule, and the rule's key."""
    set_keys(organisation)
    country = organisation.country.code if organisation.country else ""
    rules = [
        ("domain", Q(domain_key=organisation.domain_key) if organisation.domain_key else None),
        ("website", Q(web_key=organisation.web_key) if organisation.web_key else None),
        ("name", Q(name_key=organisation.name_key, country=country) if organisation.name_key else None),
        ("acronym", Q(acronym_key=organisation.acronym_key, country=country) if organisation.acronym_key else None),
    ]
    rules = [(reason, condition) for reason, condition in rules if condition is not None]
    if not rules:
        return None, ""
    # One query for every rule: each candidate ranked by the strongest rule it meets, then the earliest.
    either = Q()
    for _reason, condition in rules:
        either |= condition
    strongest = Case(
        *(When(condition, then=Value(rank)) for rank, (_r, condition) in enumerate(rules)), output_field=IntegerField()
    )
    match = (
        Organisation.objects.exclude(pk=organisation.pk)
        .filter(either)
        .annotate(match_rule=strongest)
        .order_by("match_rule", "pk")
        .first()
    )
    return (match, rules[match.match_rule][0]) if match else (None, "")


def attach(organisation: Organisation) -> Organisation:
    """Give a newly saved copy its identity: a matching earlier organisation's, or its own."""
    match, reason = find_match(organisation)
    organisation.identity_id = match.root_id if match else organisation.pk
    organisation.identity_reason = reason
    Organisation.objects.filter(pk=organisation.pk).update(
        identity_id=organisation.identity_id,
        identity_reason=reason,
        name_key=organisation.name_key,
        acronym_key=organisation.acronym_key,
        domain_key=organisation.domain_key,
        web_key=organisation.web_key,
    )
    return organisation


def copies(root_id: int) -> QuerySet[Organisation]:
    """Every copy of one organisation, the earliest (whose id is the identity) included."""
    return Organisation.objects.filter(Q(identity_id=root_id) | Q(pk=root_id))


def applications_of(organisation: Organisation) -> QuerySet[Application]:
    """Every application of the organisation, through any of its copies, across States and sessions."""
    return Application.objects.filter(organisation__in=copies(organisation.root_id))


def refresh_first_time(root_ids) -> int:
    """
    Mark the submitted, unerased applications of these organisations (identities) first-time or
    not: first-time when no copy of the organisation applied to an earlier session. Runs when an
    application is submitted and when staff merge or split identities; returns how many applications
    it looked at. An erased application keeps its mark (the identity that decided it is gone).
    """
    roots = {r for r in root_ids if r}
    if not roots:
        return 0
    rows = list(
        Application.objects.filter(Q(organisation__identity_id__in=roots) | Q(organisation_id__in=roots))
        .exclude(status=ApplicationStatus.DRAFT)
        .filter(erased_at__isnull=True)
        .values_list("pk", "organisation__identity_id", "organisation_id", "review__session__number")
    )
    first_session: dict[int, int] = {}
    for _pk, identity_id, organisation_id, number in rows:
        root = identity_id or organisation_id
        first_session[root] = min(number, first_session.get(root, number))
    first = {pk for pk, identity_id, organisation_id, number in rows if number == first_session[identity_id or organisation_id]}
    Application.objects.filter(pk__in=first).exclude(first_time=True).update(first_time=True)
    Application.objects.filter(pk__in={row[0] for row in rows} - first).exclude(first_time=False).update(first_time=False)
    return len(rows)


@transaction.atomic
def merge(target: Organisation, others: list[Organisation], *, by=None) -> int:
    """Make every copy of `others`' identities part of `target`'s identity; return how many copies moved."""
    root = target.root_id
    roots = {o.root_id for o in others}
    moved = 0
    for organisation in Organisation.objects.filter(Q(identity_id__in=roots) | Q(pk__in=roots)).exclude(identity_id=root):
        organisation.identity_id = root
        organisation.identity_reason = "merged"
        organisation._change_reason = "merged"
        if by is not None:
            organisation._history_user = by
        organisation.save(update_fields=["identity", "identity_reason"])
        moved += 1
    refresh_first_time([root])
    return moved


@transaction.atomic
def split(organisation: Organisation, *, by=None) -> Organisation:
    """Treat one copy as an organisation of its own; copies that pointed to it follow the next earliest copy."""
    old_root = organisation.root_id
    if old_root == organisation.pk:
        rest = list(copies(organisation.pk).exclude(pk=organisation.pk).order_by("pk"))
        if rest:
            Organisation.objects.filter(pk__in=[o.pk for o in rest]).update(identity_id=rest[0].pk)
            old_root = rest[0].pk
    organisation.identity_id = organisation.pk
    organisation.identity_reason = "split"
    organisation._change_reason = "split"
    if by is not None:
        organisation._history_user = by
    organisation.save(update_fields=["identity", "identity_reason"])
    refresh_first_time([old_root, organisation.pk])
    return organisation


def look_alike(a: Organisation, b: Organisation) -> bool:
    """Two copies of different identities whose names or acronyms are close enough for staff to check."""
    if a.root_id == b.root_id:
        return True
    if a.acronym_key and a.acronym_key == b.acronym_key:
        return True
    ka, kb = a.name_key or name_key(a.name), b.name_key or name_key(b.name)
    return bool(ka and kb) and difflib.SequenceMatcher(None, ka, kb).ratio() >= 0.85
