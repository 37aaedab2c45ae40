import logging
import re

# Private application links look like /applications/<key>:<signature>/.
PRIVATE_LINK = re.compile(r"(/applications/[A-Za-z0-9_\-]{6})[A-Za-z0-9_\-]*:[A-Za-z0-9_\-]+")


def mask_private_links(text: str) -> str:
    return PRIVATE_LINK.sub(r"\1…", text)


class MaskPrivateLinks(logging.Filter):
    """Keep private application links out of request logs: only their first characters are logged."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_private_links(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True
