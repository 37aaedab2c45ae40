"""
Conflicts of interest between reviewers and applications: found, not only declared.

A reviewer conflicts with an application when

- the organisation's email domain, or its website's host, is the reviewer's own email domain or
  one they listed in their profile (or a subdomain of one): "same domain";
- the organisation (any copy of it, see identity.py) is one the reviewer's profile names: "their
  organisation";
- the reviewer declared a conflict when reviewing it: "declared", with their reason.

Webmail and example domains never make a conflict (identity.WEBMAIL): two people with gmail
addresses are not colleagues. A conflicted application is never assigned to the reviewer, never
offered to them, and hidden from them in the admin. Coordinators see every conflict with its cause
on the session's review page.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db.models import Exists, OuterRef, Q
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from .identity import WEBMAIL, domain_key, web_key
from .models import Application, Assessment, ReviewerProfile

CAUSES = {
    "domain": _("same email or web domain"),
    "organisation": _("the reviewer's organisation"),
    "declared": _("declared by the reviewer"),
}


@dataclass(frozen=True)
class Conflict:
    application_id: int
    reviewer_id: int
    cause: str  # a key of CAUSES
    detail: str = ""  # the domain, or the reviewer's reason

    @property
    def cause_label(self):
        return CAUSES[self.cause]


def profile_of(user) -> ReviewerProfile | None:
    try:
        return user.reviewer_profile
    except ReviewerProfile.DoesNotExist:
        return None


def domains_of(user, profile: ReviewerProfile | None = None) -> set[str]:
    """The reviewer's domains: their email's (unless webmail) and those in their profile."""
    found = {domain_key(user.email)}
    if profile is not None:
        for line in profile.domains.splitlines():
            line = line.strip().lower()
            found.add((domain_key(line) if "@" in line else web_key(line)).strip("."))
    return found - {""}


ASCII_DOMAIN = re.compile(r"[a-z0-9.-]+")
SUFFIX_LABELS = frozenset("ac co com edu gov go gob net ne or org mil".split())


def check_domains(text: str) -> tuple[str, list[str]]:
    """
    A profile's domains, one per line, normalised (lower case, no scheme, path, "www." or "@"), and
    what is wrong with them: a line that is not one domain, a wildcard, a bare suffix ("org",
    "org.uk") that would conflict the reviewer with half the applicants, a webmail or example domain
    that never makes a conflict.
    """
    kept, errors = [], []
    for line in (text or "").splitlines():
        line = line.strip()
        if not line:
            continue
        if any(mark in line for mark in ",; \t"):
            errors.append(gettext("Put one domain per line: “%(line)s”.") % {"line": line})
            continue
        if "*" in line:
            errors.append(gettext("Write “%(line)s” without *: a domain covers its subdomains already.") % {"line": line})
            continue
        key = (domain_key(line) if "@" in line else web_key(line.lower())).strip(".")
        labels = key.split(".")
        if "@" in line and not key and line.rpartition("@")[2].strip().lower().rstrip(".") in WEBMAIL or key in WEBMAIL:
            errors.append(gettext("“%(line)s” is a webmail or example domain: it cannot show a tie.") % {"line": line})
        elif not ASCII_DOMAIN.fullmatch(key):
            errors.append(
                gettext("Write “%(line)s” in plain letters, digits, dots and hyphens (an accented domain as xn--…).")
                % {"line": line}
            )
        elif any(key.endswith("." + shared) for shared in WEBMAIL):
            errors.append(gettext("“%(line)s” is a webmail or example domain: it cannot show a tie.") % {"line": line})
        elif len(labels) < 2 or not all(labels) or (len(labels) == 2 and labels[0] in SUFFIX_LABELS and len(labels[1]) == 2):
            errors.append(gettext("“%(line)s” is not an organisation's domain, such as partner.org.") % {"line": line})
        elif key not in kept:
            kept.append(key)
    return "\n".join(kept), errors


def roots_of(profile: ReviewerProfile | None) -> set[int]:
    if profile is None:
        return set()
    return {organisation.identity_id or organisation.pk for organisation in profile.organisations.all()}


def parents(domain: str) -> set[str]:
    """The domains above `domain` with at least two labels: hq.forum.org -> {forum.org}."""
    labels = domain.split(".")
    return {".".join(labels[i:]) for i in range(1, len(labels) - 1)}


def on_domain(key: str, domains: set[str]) -> str:
    """The reviewer domain that `key` is, is a subdomain of, or is above; "" if none."""
    return next((d for d in sorted(domains) if key and (key == d or key.endswith("." + d) or key in parents(d))), "")


def found_q(user) -> Q:
    """Applications the user conflicts with by domain or organisation (a Q on Application)."""
    profile = profile_of(user)
    condition = Q(pk__in=[])
    for domain in domains_of(user, profile):
        for field in ("organisation__domain_key", "organisation__web_key"):
            condition |= Q(**{field: domain}) | Q(**{f"{field}__endswith": "." + domain})
            if parents(domain):
                condition |= Q(**{f"{field}__in": sorted(parents(domain))})
    roots = roots_of(profile)
    if roots:
        condition |= Q(organisation__identity_id__in=roots) | Q(organisation_id__in=roots)
    return condition


def declared(user) -> Exists:
    """
    Whether the user declared a conflict on the application.

    One Exists on the user's own assessment: `.exclude(assessments__assessor=user, assessments__conflict_of_interest=True)`
    across the many assessments of an application does not match row by row, and would hide an
    application from an assessor as soon as anyone else declared a conflict on it.
    """
    return Exists(Assessment.objects.filter(application=OuterRef("pk"), assessor=user, conflict_of_interest=True))


def conflicted_q(user) -> Q:
    return found_q(user) | Q(declared(user))


def for_session(session, reviewers=None, only: list[int] | None = None) -> list[Conflict]:
    """
    Every conflict on the session's submitted applications (or on the `only` ones), with its cause:
    a constant number of queries.
    """
    if reviewers is None:
        reviewers = list(reviewer_users(session))
    profiles = {p.user_id: p for p in ReviewerProfile.objects.filter(user__in=reviewers).prefetch_related("organisations")}
    keys = {r.pk: (domains_of(r, profiles.get(r.pk)), roots_of(profiles.get(r.pk))) for r in reviewers}
    applications = Application.objects.filter(review__session=session).exclude(status="draft")
    declared_ones = Assessment.objects.filter(application__review__session=session, conflict_of_interest=True)
    if only is not None:
        applications, declared_ones = applications.filter(pk__in=only), declared_ones.filter(application__in=only)
    applications = applications.values_list(
        "pk", "organisation__domain_key", "organisation__web_key", "organisation__identity_id", "organisation_id"
    )
    found = []
    for pk, email_domain, website, identity_id, organisation_id in applications:
        for reviewer_id, (domains, roots) in keys.items():
            if (identity_id or organisation_id) in roots:
                found.append(Conflict(pk, reviewer_id, "organisation"))
            elif match := on_domain(email_domain, domains) or on_domain(website, domains):
                found.append(Conflict(pk, reviewer_id, "domain", match))
    for application_id, reviewer_id, reason in declared_ones.values_list("application_id", "assessor_id", "conflict_reason"):
        found.append(Conflict(application_id, reviewer_id, "declared", reason))
    return found


def by_application(conflicts: list[Conflict]) -> dict[int, set[int]]:
    result: dict[int, set[int]] = defaultdict(set)
    for conflict in conflicts:
        result[conflict.application_id].add(conflict.reviewer_id)
    return result


def reviewer_users(session=None):
    """Who reviews: active staff in the Assessor group, and coordinators (or superusers) with a reviewer profile."""
    return (
        get_user_model()
        .objects.filter(is_active=True, is_staff=True)
        # Coordinators and superusers review only if they have a profile; other staff never: they cannot open an application.
        .filter(
            Q(groups__name="Assessor")
            | (Q(reviewer_profile__isnull=False) & (Q(groups__name="Coordinator") | Q(is_superuser=True)))
        )
        .distinct()
        .select_related("reviewer_profile")
        .order_by("pk")
    )
