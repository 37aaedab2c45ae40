"""
Keep private links out of every log line and every staff screen that shows an email's text.

A private link is a random key signed with the site's secret ("<key>:<signature>"). It can reach
a log in many shapes: in a path, URL-encoded once or twice in a query string ("%3A", "%253A"), or
after a path prefix with a different secret format. Both patterns are matched wherever they
occur in a message, and only the first characters of the key are kept, enough to tell two
applicants apart when reading a log.
"""

import logging
import re
from urllib.parse import unquote

KEEP = 6
# A signed token in any encoding: a long key, the signer's separator (":" raw, once or twice
# percent-encoded), then a long signature.
SIGNED_TOKEN = re.compile(r"([A-Za-z0-9_\-]{" + str(KEEP) + r"})[A-Za-z0-9_\-]{10,}(?::|%3[Aa]|%253[Aa])[A-Za-z0-9_\-]{16,}")
# The first part of each private route's path ("applications" for /applications/<key>/…): each app
# registers its own in AppConfig.ready(). Whatever follows such a prefix is masked too, in case a
# link is ever made another way than with a signed token.
_private_prefixes: set[str] = set()
_prefix_pattern: re.Pattern | None = None


def register_private_prefix(*prefixes: str) -> None:
    """Mask whatever follows /<prefix>/ in logs and in the outbox's screens."""
    global _prefix_pattern
    _private_prefixes.update(prefixes)
    names = "|".join(sorted(re.escape(prefix) for prefix in _private_prefixes))
    _prefix_pattern = re.compile(
        r"((?:/|%2[Ff]|%252[Ff])(?:"
        + names
        + r")(?:/|%2[Ff]|%252[Ff]))([A-Za-z0-9_\-]{"
        + str(KEEP)
        + r"})[A-Za-z0-9_\-%:.]{10,}"
    )


MASK = "…"


# A run of characters that can make up a URL, percent-escapes included.
URL_RUN = re.compile(r"[A-Za-z0-9_\-%:./]{16,}")


def _mask(text: str) -> str:
    text = SIGNED_TOKEN.sub(lambda m: m.group(1) + MASK, text)
    if _prefix_pattern is None:
        return text
    return _prefix_pattern.sub(lambda m: m.group(1) + m.group(2) + MASK, text)


def _decoded(run: str) -> str:
    for _ in range(3):  # "%2561" is "%61" is "a": a client may encode any character, more than once
        decoded = unquote(run)
        if decoded == run:
            break
        run = decoded
    return run


def mask_private_links(text: str) -> str:
    """
    Replace every private link's secret part in `text` by its first characters and an ellipsis.

    A URL-like run is decoded first, so that a link written with percent-escapes ("/%61pplications/",
    a key with "%7a" inside) is found and masked too; such a run is logged decoded.
    """
    text = _mask(text)
    return URL_RUN.sub(lambda m: _mask(decoded) if (decoded := _decoded(m.group(0))) != m.group(0) else m.group(0), text)


class MaskPrivateLinks(logging.Filter):
    """A logging filter: private links never reach a log handler in full, in the message or in its arguments."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_private_links(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True
