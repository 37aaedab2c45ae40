"""
Error reporting: to Sentry (or GlitchTip, which speaks its protocol) when SENTRY_DSN is set, by
mail to ADMINS otherwise. Either way a report never carries what an applicant typed, their
cookies, or a private link in full: applicants are human rights defenders, and a crash report is
read by more people, and kept longer, than the data it was made from.
"""

from __future__ import annotations

import hashlib
import re

from django.utils.log import AdminEmailHandler
from django.views.debug import ExceptionReporter, SafeExceptionReporterFilter

from outbox.masking import mask_private_links

# A URL with a password in it ("redis://:secret@host", "smtp://user:secret@host").
URL_PASSWORD = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)(?P<user>[^:/@\s]*):(?P<password>[^@/\s]+)@", re.IGNORECASE)


def _hide_url_passwords(text: str) -> str:
    return URL_PASSWORD.sub(lambda m: f"{m['scheme']}{m['user']}:********@", text)


class PrivateExceptionReporterFilter(SafeExceptionReporterFilter):
    """Django's filter for ADMINS' error mails, with every posted value hidden, not only passwords."""

    # Django's names, and settings holding addresses with passwords (REDIS_URL, CELERY_BROKER_URL,
    # CACHES' LOCATION, SENTRY_DSN) or tokens (the CSRF cookie in META).
    hidden_settings = re.compile("API|AUTH|TOKEN|KEY|SECRET|PASS|SIGNATURE|HTTP_COOKIE|CSRF|DSN|LOCATION|_URL$", flags=re.I)

    def cleanse_setting(self, key, value):
        cleansed = super().cleanse_setting(key, value)
        return _hide_url_passwords(cleansed) if type(cleansed) is str else cleansed

    def is_active(self, request):
        return True  # also with DEBUG on: the debug page must not show applicants' data to a passer-by either

    def get_post_parameters(self, request):
        if request is None:
            return {}
        hidden = request.POST.copy()
        for name in hidden:
            hidden[name] = self.cleansed_substitute
        return hidden

    def get_safe_cookies(self, request):
        # Every cookie: the messages cookie, for one, can hold an applicant's email addresses.
        return dict.fromkeys(getattr(request, "COOKIES", {}), self.cleansed_substitute)

    def get_traceback_frame_variables(self, request, tb_frame):
        # Local variables hold forms, applications and emails: show none of their values.
        return [(name, self.cleansed_substitute) for name, _value in tb_frame.f_locals.items()]


class PrivateAdminEmailHandler(AdminEmailHandler):
    """
    Django's error mail to ADMINS, with every private link masked in the whole mail (the request's
    URL, META, the Referer: not only the log line), and the same error mailed at most once every
    ten minutes, so that anyone repeating a request that fails cannot flood the mailboxes.
    """

    REPEAT_SECONDS = 600

    def emit(self, record):
        if not self._first_in_a_while(record):
            return
        super().emit(record)

    def _first_in_a_while(self, record) -> bool:
        from django.core.cache import cache

        where = f"{record.name}:{record.pathname}:{record.lineno}"
        if record.exc_info and record.exc_info[2] is not None:
            # Where the exception was raised (the innermost frame), not where it was logged: Django
            # logs every failed request from the same line.
            innermost = record.exc_info[2]
            while innermost.tb_next is not None:
                innermost = innermost.tb_next
            frame = innermost.tb_frame.f_code
            where += f":{record.exc_info[0].__name__}:{frame.co_filename}:{innermost.tb_lineno}"
        key = "error-mail:" + hashlib.sha256(where.encode()).hexdigest()[:24]
        try:
            return cache.add(key, 1, self.REPEAT_SECONDS)
        except Exception:  # noqa: BLE001 -- no cache: mail rather than stay silent
            return True

    def send_mail(self, subject, message, *args, **kwargs):
        if kwargs.get("html_message"):
            kwargs["html_message"] = mask_private_links(kwargs["html_message"])
        super().send_mail(mask_private_links(subject), mask_private_links(message), *args, **kwargs)


class PrivateExceptionReporter(ExceptionReporter):
    """Django's error report without the names of uploaded files (an applicant may name a file after themselves)."""

    def get_traceback_data(self):
        data = super().get_traceback_data()
        if "request_FILES_items" in data:
            data["request_FILES_items"] = [(name, "********************") for name, _file in data["request_FILES_items"]]
        return data


def _mask_everywhere(value):
    if isinstance(value, str):
        return mask_private_links(value)
    if isinstance(value, dict):
        return {key: _mask_everywhere(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_mask_everywhere(item) for item in value]
    return value


def scrub_event(event: dict, hint: dict | None = None) -> dict:
    """Sentry's before_send (and before_send_transaction): no form data, cookies or full private links."""
    request = event.get("request") or {}
    for key in ("data", "cookies"):
        request.pop(key, None)
    headers = request.get("headers") or {}
    for name in list(headers):
        if name.lower() in ("cookie", "authorization", "x-csrftoken", "referer"):
            headers.pop(name)
    event.pop("user", None)
    for frame_holder in (event.get("exception") or {}).get("values") or []:
        for frame in (frame_holder.get("stacktrace") or {}).get("frames") or []:
            frame.pop("vars", None)
    return _mask_everywhere(event)


def init_sentry(dsn: str, *, environment: str, traces_sample_rate: float) -> None:
    import sentry_sdk
    from sentry_sdk.integrations.celery import CeleryIntegration
    from sentry_sdk.integrations.django import DjangoIntegration

    sentry_sdk.init(
        dsn=dsn,
        environment=environment or None,
        integrations=[DjangoIntegration(), CeleryIntegration()],
        send_default_pii=False,  # no addresses, cookies or user names
        include_local_variables=False,
        max_request_body_size="never",
        traces_sample_rate=traces_sample_rate,
        before_send=scrub_event,
        before_send_transaction=scrub_event,
        before_breadcrumb=lambda crumb, hint: _mask_everywhere(crumb),
    )
