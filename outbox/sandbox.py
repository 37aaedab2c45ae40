"""
The sandbox for email templates that staff edit in the admin (outbox.models.EmailTemplate).

Staff write templates in the admin, so a template must not be able to reach more than the
one recipient's own values: a loop over `review.applications.all` would put every applicant's
address, name and gender in one message. A staff-edited template is therefore text and
`{{ placeholder }}` variables only, each placeholder a plain value (text, a number, a date)
copied out of the email's context, with a few formatting filters. It is checked when saved
(EmailTemplate.clean) and again before every rendering, and it renders on an engine that
knows no tag and no other filter, with a context that holds no object.
"""

import datetime as dt
import functools
import re
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.template import Context, Engine, Library, TemplateSyntaxError, defaultfilters
from django.template.base import FilterExpression, Lexer, Parser, TokenType
from django.template.defaultfilters import linebreaks, urlize
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.functional import Promise
from django.utils.html import escape
from django.utils.translation import gettext_lazy as _

from . import kinds

# Every placeholder a staff-edited template may use is registered by the app that fills it in
# (outbox.kinds). The code that drafts each email decides which of them have a value (a decision
# email has `member.confirmation_deadline`, an alert does not); a placeholder without one renders
# as nothing, or as its `default:"…"`. Signed private links are never allowed in a subject,
# which the outbox lists and searches.
FILTERS = ("date", "time", "default", "upper", "lower", "capfirst", "title")
PLAIN_TYPES = (str, int, float, Decimal, dt.date, dt.time)

TAG_NOT_ALLOWED = _("%(tag)s: template tags are not allowed. Write only text and placeholders.")
NOT_A_PLACEHOLDER = _("%(placeholder)s is not a placeholder you can use.")
FILTER_NOT_ALLOWED = _("%(placeholder)s: the filter “%(filter)s” is not allowed.")
FILTER_ARGUMENT = _("%(placeholder)s: write the filter's argument in quotes; it cannot be a placeholder.")
LINK_IN_SUBJECT = _("%(placeholder)s cannot be used in the subject: put links in the text.")
USE_ONLY = _("Use only: %(placeholders)s. Filters: %(filters)s.")


def template_errors(source: str, *, subject: bool = False) -> list[ValidationError]:
    """
    Return what the sandbox refuses in a staff-edited template's `source`, one error per problem.

    Allowed: text, and `{{ placeholder }}` or `{{ placeholder|filter:"argument" }}` with a
    placeholder of PLACEHOLDERS and filters of FILTERS whose arguments are quoted constants.
    Anything else is refused: every tag (`{% … %}`, whatever it is) and comment (`{# … #}`), any
    other variable, filter, or a filter's argument that is itself a variable. With `subject`,
    the private links are refused too.
    """
    parser = Parser([], builtins=[defaultfilters.register])
    errors = []
    for token in Lexer(source or "").tokenize():
        if token.token_type == TokenType.TEXT:
            continue
        if token.token_type != TokenType.VAR:
            tag = "{# … #}" if token.token_type == TokenType.COMMENT else f"{{% {(token.split_contents() or [''])[0]} %}}"
            errors.append(ValidationError(TAG_NOT_ALLOWED, code="tag", params={"tag": tag}))
            continue
        written = f"{{{{ {token.contents} }}}}"
        try:
            expression = FilterExpression(token.contents, parser)
        except TemplateSyntaxError:
            errors.append(ValidationError(NOT_A_PLACEHOLDER, code="placeholder", params={"placeholder": written}))
            continue
        lookups = getattr(expression.var, "lookups", None)
        name = ".".join(lookups) if lookups else None
        if name not in kinds.placeholders():
            errors.append(ValidationError(NOT_A_PLACEHOLDER, code="placeholder", params={"placeholder": written}))
        elif subject and name in kinds.private_placeholders():
            errors.append(ValidationError(LINK_IN_SUBJECT, code="link", params={"placeholder": written}))
        for function, arguments in expression.filters:
            filter_name = getattr(function, "_filter_name", function.__name__)
            if filter_name not in FILTERS:
                errors.append(
                    ValidationError(FILTER_NOT_ALLOWED, code="filter", params={"placeholder": written, "filter": filter_name})
                )
            elif any(is_variable for is_variable, _value in arguments):
                errors.append(ValidationError(FILTER_ARGUMENT, code="argument", params={"placeholder": written}))
    if errors:
        errors.append(ValidationError(USE_ONLY, code="allowed", params=allowed_params()))
    return errors


def allowed_params() -> dict:
    """The placeholders and filters a staff-edited template may use, as text for a message."""
    return {
        "placeholders": ", ".join(f"{{{{ {name} }}}}" for name in kinds.placeholders()),
        "filters": ", ".join(FILTERS),
    }


def sandbox_context(context: dict) -> dict:
    """
    Copy each placeholder's plain value out of an email's `context`, as nested dictionaries.

    A value is looked up by its dotted name through dictionary keys and attributes, and nothing
    found on the way is called. It is kept only if it is text, a number or a date; a lazy
    translation becomes text in the current language. A queryset, a model instance or a method
    never reaches a staff-edited template, whatever the template says.
    """
    plain: dict = {}
    for name in kinds.placeholders():
        value = _lookup(context, name.split("."))
        if isinstance(value, Promise):
            value = str(value)
        if not isinstance(value, PLAIN_TYPES):
            continue
        if isinstance(value, str):
            value = str(value)  # a plain str, not a subclass with methods of its own
        *parents, last = name.split(".")
        node = plain
        for part in parents:
            node = node.setdefault(part, {})
        node[last] = value
    return plain


def _lookup(value, parts: list[str]):
    for part in parts:
        value = value.get(part) if isinstance(value, dict) else getattr(value, part, None)
        if value is None or callable(value):
            return None
    return value


@functools.cache
def _sandbox() -> Engine:
    """A template engine that knows no tag, no library and no template file: only the filters of FILTERS."""
    engine = Engine(loaders=[], libraries={})
    filters = Library()
    filters.filters = {name: defaultfilters.register.filters[name] for name in FILTERS}
    engine.template_builtins = [filters]
    return engine


def render_override(template, context: dict) -> tuple[str, str, str]:
    """
    Render a staff-edited template (an EmailTemplate) in the sandbox: its text as written (no HTML escaping), and an HTML version made from it.

    Raise ValidationError if the template uses anything the sandbox refuses.
    """
    errors = template_errors(template.subject, subject=True) + template_errors(template.body)
    if errors:
        raise ValidationError(errors)
    with translation.override(template.language):
        values = Context(sandbox_context(context), autoescape=False)
        subject = _sandbox().from_string(template.subject).render(values)
        text = _sandbox().from_string(template.body).render(values)
    subject = re.sub(r"\s+", " ", subject).strip()
    html = render_to_string("emails/base.html", {**context, "body_html": linebreaks(urlize(escape(text)))})
    return subject, text.strip() + "\n", html
