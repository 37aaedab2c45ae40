"""Small middlewares: staff session lifetime and the security headers django-csp does not set."""

import time

from django.conf import settings

LAST_SEEN_KEY = "_last_seen"


class StaffSessionMiddleware:
    """
    End a signed-in session after SESSION_COOKIE_AGE seconds without activity (a working day).

    The session's expiry slides forward with activity, but the session is saved at most once every
    few minutes, not on every request.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            now = int(time.time())
            if now - request.session.get(LAST_SEEN_KEY, 0) >= settings.SESSION_ACTIVITY_REFRESH_SECONDS:
                request.session[LAST_SEEN_KEY] = now  # marks the session modified: saved with a new expiry
        return self.get_response(request)


class SecurityHeadersMiddleware:
    """Add a Permissions-Policy to every response: the site needs no camera, microphone or location."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.headers.setdefault("Permissions-Policy", settings.PERMISSIONS_POLICY)
        return response
