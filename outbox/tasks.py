"""
The outbox's Celery tasks. Their registered names date from when the outbox was part of the
calendar app ("presessions.…") and are kept: periodic-task rows in the database and messages
already waiting in Redis name them.
"""

from celery import shared_task

from . import delivery


@shared_task(name="presessions.ping", ignore_result=False)
def ping() -> str:
    """Answer "pong": lets `manage.py check_worker` and the tests see a live worker."""
    return "pong"


# Emails are woken through the relay since issue 20; this task stays for messages already in Redis.
@shared_task(name="presessions.send_email", acks_late=True)
def task_send_email(*, email_id: int) -> bool:
    return delivery.send_email(email_id)


@shared_task(name="outbox.relay", acks_late=True)
def task_relay_outbox() -> int:
    """Send every due email, in batches (see outbox.delivery.relay)."""
    return delivery.relay()


@shared_task(name="presessions.sweep_outbox")
def task_sweep_outbox() -> int:
    return delivery.sweep_outbox()
