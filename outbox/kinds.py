"""
What the outbox knows of the emails other apps send: their kinds and the placeholders a staff-edited template may use.

The outbox is a leaf: it knows no other app of the project. Each app tells it, in its
AppConfig.ready(), which email kinds it sends (`register_kind`) and which placeholders its
emails fill in, each with an example value for the admin's preview (`register_placeholders`).
The sandbox (outbox.sandbox) allows exactly the registered placeholders.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Model, QuerySet

from . import links

# Placeholders the apps registered, then the outbox's own (filled into every email by
# outbox.delivery.render_message), each with an example value or a function that makes one.
_placeholders: dict[str, object] = {}
_own: dict[str, object] = {"contact_email": lambda: settings.CONTACT_EMAIL, "site_url": links.site_url}
_private: set[str] = set()
_kinds: dict[str, EmailKind] = {}


@dataclass(frozen=True)
class EmailKind:
    name: str
    # Kinds of one family replace each other: a later email of the family to the same object makes
    # an earlier, unsent one stale (a decision changed before the first was sent), and a sent one
    # is never sent again. None for kinds that stand alone.
    family: str | None = None
    # Once sent, the outbox forgets the recipient, the body and the key (an erasure's receipt:
    # nothing left here may link the address to what was erased).
    forget_when_sent: bool = False
    # For an email written by the relay instead of in the request (queue_email(render_later=True)):
    # the template context, rebuilt from the email's related objects (fetched in one query per batch,
    # through `related_query`). It returns None when the email should no longer leave (its
    # application was erased meanwhile): the row is then discarded.
    context: Callable[[Model], dict | None] | None = None
    related_query: Callable[[QuerySet], QuerySet] | None = None


def register_kind(
    name: str,
    *,
    family: str | None = None,
    forget_when_sent: bool = False,
    context: Callable[[Model], dict | None] | None = None,
    related_query: Callable[[QuerySet], QuerySet] | None = None,
) -> None:
    """Tell the outbox that an app sends emails of kind `name` (templates/emails/<name>-subject.txt, …)."""
    _kinds[name] = EmailKind(name, family, forget_when_sent, context, related_query)


def register_placeholders(examples: dict[str, object | Callable[[], object]], *, private: tuple[str, ...] = ()) -> None:
    """
    Let staff-edited templates use these dotted placeholders ("organisation.name"); each maps to an
    example value for the preview, or to a function that returns one. `private` names placeholders
    that carry a signed private link: they are refused in a subject, which the outbox lists.
    """
    _placeholders.update(examples)
    _private.update(private)


def kinds() -> dict[str, EmailKind]:
    return dict(_kinds)


def kinds_that_replace_earlier() -> list[list[str]]:
    """The kinds of each family, one list per family."""
    families: dict[str, list[str]] = {}
    for kind in _kinds.values():
        if kind.family:
            families.setdefault(kind.family, []).append(kind.name)
    return list(families.values())


def placeholders() -> tuple[str, ...]:
    return (*_placeholders, *_own)


def private_placeholders() -> frozenset[str]:
    return frozenset(_private)


def sample_context() -> dict:
    """Example values for every placeholder, as nested dictionaries, for previewing a staff-edited template."""
    context: dict = {}
    for name, example in {**_placeholders, **_own}.items():
        *parents, last = name.split(".")
        node = context
        for part in parents:
            node = node.setdefault(part, {})
        node[last] = example() if callable(example) else example
    return context
