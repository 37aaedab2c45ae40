"""
Error reporting: to Sentry (or GlitchTip, which speaks its protocol) when SENTRY_DSN is set, by
mail to ADMINS otherwise. Either way a report never carries what an applicant typed, their
cookies, or a private link in full: applicants are human rights defenders, and a crash report is
read by more people, and kept longer, than the data it was made from.
"""

from __future__ import annotations

from django.views.debug import SafeExceptionReporterFilter

from outbox.masking import mask_private_links


class PrivateExceptionReporterFilter(SafeExceptionReporterFilter):
    """Django's filter for ADMINS' error mails, with every posted value hidden, not only passwords."""

    def is_active(self, request):
        return True  # also with DEBUG on: the debug page must not show applicants' data to a passer-by either

    def get_post_parameters(self, request):
        if request is None:
            return {}
        hidden = request.POST.copy()
        for name in hidden:
            hidden[name] = self.cleansed_substitute
        return hidden

    def get_traceback_frame_variables(self, request, tb_frame):
        # Local variables hold forms, applications and emails: show none of their values.
        return [(name, self.cleansed_substitute) for name, _value in tb_frame.f_locals.items()]


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
