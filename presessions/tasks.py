from celery import shared_task


@shared_task(name="presessions.ping")
def ping() -> str:
    """Answer "pong": lets `manage.py check_worker` and the tests see a live worker."""
    return "pong"
