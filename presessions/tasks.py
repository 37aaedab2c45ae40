from celery import shared_task


@shared_task(name="presessions.ping", ignore_result=False)
def ping() -> str:
    """Answer "pong": lets `manage.py check_worker` and the tests see a live worker."""
    return "pong"


@shared_task(name="presessions.send_email", acks_late=True)
def task_send_email(*, email_id: int) -> bool:
    from .emails import send_email

    return send_email(email_id)


@shared_task(name="presessions.sweep_outbox")
def task_sweep_outbox() -> int:
    from .emails import sweep_outbox

    return sweep_outbox()
