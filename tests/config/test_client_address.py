"""The client's address behind trusted proxies, and forged headers from anyone else."""

import pytest
from django.http import HttpResponse
from django.test import RequestFactory

from config.middleware import ClientAddressMiddleware


def _seen(settings, peer, forwarded=None, trusted=("127.0.0.1", "10.0.0.0/8")):
    settings.TRUSTED_PROXIES = list(trusted)
    headers = {"HTTP_X_FORWARDED_FOR": forwarded} if forwarded is not None else {}
    request = RequestFactory().get("/", REMOTE_ADDR=peer, **headers)
    ClientAddressMiddleware(lambda r: HttpResponse())(request)
    return request.META["REMOTE_ADDR"]


@pytest.mark.parametrize(
    ("peer", "forwarded", "client"),
    [
        ("127.0.0.1", "203.0.113.7", "203.0.113.7"),  # one proxy
        ("127.0.0.1", "203.0.113.7, 10.1.2.3", "203.0.113.7"),  # a load balancer, then nginx
        ("127.0.0.1", "6.6.6.6, 203.0.113.7", "203.0.113.7"),  # the client forged the left part
        ("127.0.0.1", "not-an-address, 203.0.113.7", "203.0.113.7"),
        ("127.0.0.1", "203.0.113.7, nonsense", "127.0.0.1"),  # a proxy of ours sent garbage: no client beyond it
        ("127.0.0.1", None, "127.0.0.1"),
        ("198.51.100.9", "6.6.6.6", "198.51.100.9"),  # not a trusted proxy: its header is ignored
        ("127.0.0.1", "2001:db8::1", "2001:db8::1"),
    ],
)
def test_the_client_is_the_rightmost_untrusted_address(settings, peer, forwarded, client):
    assert _seen(settings, peer, forwarded) == client


def test_without_trusted_proxies_the_header_is_ignored(settings):
    assert _seen(settings, "127.0.0.1", "203.0.113.7", trusted=()) == "127.0.0.1"
