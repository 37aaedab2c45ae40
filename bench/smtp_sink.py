"""
An SMTP sink in a process of its own, so that receiving mail does not compete with the load
clients for one interpreter. It counts the recipients of every message whose content has
--match and rewrites --out (JSON: {recipient: count}) at most every 0.2 s and when stopped.

Run: python bench/smtp_sink.py --port 2525 --out counts.json [--match "Application received"]
"""

import argparse
import json
import os
import signal
import threading
from collections import Counter

from aiosmtpd.controller import Controller


class Counting:
    def __init__(self, match: bytes):
        self.match = match
        self.recipients = Counter()
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        if self.match in envelope.content:
            with self.lock:
                for rcpt in envelope.rcpt_tos:
                    self.recipients[rcpt] += 1
        return "250 OK"


def write(path: str, counts: Counter) -> None:
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(counts, f)
    os.replace(tmp, path)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--match", default="Application received")
    args = parser.parse_args()
    handler = Counting(args.match.encode())
    controller = Controller(handler, hostname="127.0.0.1", port=args.port)
    controller.start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    written = -1
    while not stop.wait(0.2):
        with handler.lock:
            counts = Counter(handler.recipients)
        if sum(counts.values()) != written:
            write(args.out, counts)
            written = sum(counts.values())
    controller.stop()
    with handler.lock:
        write(args.out, Counter(handler.recipients))


if __name__ == "__main__":
    main()
