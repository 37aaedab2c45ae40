"""Small middlewares: staff session lifetime, the security headers django-csp does not set, and `?lang=`."""

import ipaddress
import time

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, HttpResponseBadRequest
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils import translation

from presessions import caching, crawlers
from presessions.web import DatabaseUnavailable

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


class QueryLanguageMiddleware:
    """
    Show a page in the language that `?lang=` names, for this request only: the links of the
    sitemap and of each public page's hreflang alternates. The cookie, and so the language of the
    next page, stays as it was. Goes after LocaleMiddleware, which reads the cookie.

    The parameter is taken out of request.GET, so that a view sees only its own parameters (a
    public page would otherwise redirect it away: presessions.caching.public_page). An unknown
    language is ignored. On a public page, `request.language_alternates` lists the page in every
    language for base.html's <head>; a private page, or an error page, gets none.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if "lang" in request.GET:
            code = request.GET["lang"]
            if code in dict(settings.LANGUAGES):
                translation.activate(code)
                request.LANGUAGE_CODE = code
            query = request.GET.copy()
            del query["lang"]
            query._mutable = False
            request.GET = query
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        match = request.resolver_match
        if request.method in ("GET", "HEAD") and not crawlers.is_private(match.view_name, match.route):
            request.language_alternates = crawlers.language_versions(request.path)

    def process_exception(self, request, exception):
        request.language_alternates = []


class RequestSizeLimitMiddleware:
    """
    Refuse a request whose declared body is larger than any form needs, before reading it.

    A 60 MB upload would otherwise be received in full (minutes on a slow connection) and only
    then refused. The page says what happened in the visitor's language; going back keeps what
    they typed, since the browser still holds the form. nginx refuses the same with
    client_max_body_size (see deploy notes).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > settings.MAX_REQUEST_BYTES:
            limit = settings.APPLICATION_UPLOAD_MAX_BYTES // (1024 * 1024)
            response = render(request, "request_too_large.html", {"limit": limit}, status=413)
            response["Connection"] = "close"  # the body that follows is not read
            return response
        return self.get_response(request)


class NullCharacterMiddleware:
    """
    Answer 400 to an address with a NUL character in its path or query string.

    No page needs one, and PostgreSQL refuses NUL in text: a query filtered on such a value would
    otherwise be a server error (and an error report) that anyone can cause at will. Form fields
    refuse NUL themselves, next to the field (Django's ProhibitNullCharactersValidator).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if "\x00" in request.path or any("\x00" in key or "\x00" in value for key, value in request.GET.items()):
            return HttpResponseBadRequest("Bad request", content_type="text/plain")
        return self.get_response(request)


def _networks(entries):
    return [ipaddress.ip_network(entry.strip(), strict=False) for entry in entries if entry.strip()]


class CachedPublicPageMiddleware:
    """
    Serve a kept public page before the rest of the stack (presessions.caching, mechanism 0).

    A page that is the same bytes for everyone (home, calendar, a country's or session's page, a
    schedule, its ICS and JSON) is kept whole, with the headers the full stack gave it (security
    headers, CSP, ETag, Content-Language, Vary, compression), and served from memory without
    sessions, CSRF, messages, authentication or the view. Everything else, and every visitor with
    a session, a message, a query string or an unknown Host, goes through the whole stack, whose
    response is kept here when the view marked it shared.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        key = caching.response_key(request)
        if key is None:
            return self.get_response(request)
        kept = caching.kept_response(request, key)
        if kept is not None:
            return kept
        response = self.get_response(request)
        caching.keep_response(key, response)
        return response


class ClientAddressMiddleware:
    """
    Find the client's address behind the reverse proxies named in TRUSTED_PROXIES.

    Without trusted proxies, REMOTE_ADDR is the client. Behind them, every request arrives from a
    proxy, which appends the address it saw to X-Forwarded-For; the client is the right-most
    address that is not one of our proxies. Anything further left was written by the client
    itself and is ignored, so a forged header changes nothing. The client's address replaces
    REMOTE_ADDR for the rest of the request (rate limits, django-axes, and gunicorn's access log,
    which reads the same environment); the proxy's is kept in PROXY_ADDR.
    """

    def __init__(self, get_response):
        self.get_response = get_response
        self.trusted = _networks(settings.TRUSTED_PROXIES)

    def _is_trusted(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in self.trusted)

    def __call__(self, request):
        peer = request.META.get("REMOTE_ADDR", "")
        if self.trusted and self._is_trusted(peer):
            client = peer
            for hop in reversed(request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")):
                hop = hop.strip()
                if not hop:
                    continue
                try:
                    ipaddress.ip_address(hop)
                except ValueError:
                    break  # garbage: stop at the last address we could trust
                client = hop
                if not self._is_trusted(hop):
                    break
            request.META["PROXY_ADDR"], request.META["REMOTE_ADDR"] = peer, client
        return self.get_response(request)


class DatabaseUnavailableMiddleware:
    """
    When the database cannot be reached, answer with a page that says so, in the visitor's
    language, with status 503 and a Retry-After: not a bare error page.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, (InterfaceError, OperationalError, DatabaseUnavailable)):
            return None
        body = render_to_string("service_unavailable.html", {"contact_email": settings.CONTACT_EMAIL})
        response = HttpResponse(body, status=503)
        response["Retry-After"] = "60"
        return response
