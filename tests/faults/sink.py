"""
An SMTP server for the fault suite, in a process of its own so that it can be stopped and started
again: it appends one JSON line per message (Message-ID, recipients, subject) to a file.

    python -m tests.faults.sink --port 2525 --log messages.jsonl [--delay 0.5]

`--delay` makes each message take that long to accept, so that a worker can be caught mid-send.
"""

import argparse
import asyncio
import email
import json
import signal
import threading

from aiosmtpd.controller import Controller


class Recorder:
    def __init__(self, path: str, delay: float):
        self.path, self.delay, self.lock = path, delay, threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        if self.delay:
            await asyncio.sleep(self.delay)
        message = email.message_from_bytes(envelope.content)
        line = json.dumps({"message_id": message["Message-ID"], "to": envelope.rcpt_tos, "subject": message["Subject"]})
        with self.lock, open(self.path, "a") as log:
            log.write(line + "\n")
        return "250 Message accepted"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--log", required=True)
    parser.add_argument("--delay", type=float, default=0.0)
    args = parser.parse_args()
    controller = Controller(Recorder(args.log, args.delay), hostname="127.0.0.1", port=args.port)
    controller.start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    print("ready", flush=True)
    stop.wait()
    controller.stop()


if __name__ == "__main__":
    main()
