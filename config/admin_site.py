"""
The staff site: Django's admin, open only to staff who have verified a second factor.

A staff member signs in at the two-step login (password, then a code from an
authenticator app or a backup code). Someone who has signed in with a password
but has no second factor yet is sent to enrol one; nothing else of the admin
opens until they have.
"""

import functools

from django.contrib import admin
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.http import HttpResponseBadRequest
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext

from presessions.web import is_verified_staff, staff_login_redirect

# Fields that hold a secret, whatever the model: a private link's key, an authenticator's key, a
# password hash, an email body with a private link. Django's admin accepts a query-string lookup on
# any of a model's own fields (`?key__startswith=a`), enough to read a secret a character at a time.
SECRET_FIELDS = frozenset(
    {
        "key",
        "token",
        "password",
        "link_key",
        "pending_email_key",
        "statement_key",
        "form_token",
        "body_text",
        "body_html",
        "headers",
        "session_key",
        "session_data",
    }
)


def touches_a_secret(parameter: str) -> bool:
    return any(part in SECRET_FIELDS for part in parameter.split("__"))


class StaffAdminSite(admin.AdminSite):
    # The admin's index, with links to each recent session's staff home (panels/templates/admin/staff_index.html).
    index_template = "admin/staff_index.html"

    def has_permission(self, request):
        return is_verified_staff(request.user)

    def admin_view(self, view, cacheable=False):
        """Every admin page, the models' own and third-party ones: refuse a lookup on a secret field, for everyone."""
        inner = super().admin_view(view, cacheable)

        @functools.wraps(inner)
        def guarded(request, *args, **kwargs):
            if any(touches_a_secret(parameter) for parameter in request.GET):
                return HttpResponseBadRequest(gettext("Filtering on this field is not allowed."))
            return inner(request, *args, **kwargs)

        return guarded

    def login(self, request, extra_context=None):
        next_url = request.GET.get(REDIRECT_FIELD_NAME, "")
        if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
            next_url = reverse("admin:index")
        return staff_login_redirect(request, next_url)
