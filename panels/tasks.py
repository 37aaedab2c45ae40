from celery import shared_task


@shared_task(name="panels.expire_unconfirmed")
def task_expire_unconfirmed() -> int:
    from .domain import expire_unconfirmed

    return expire_unconfirmed()
