from celery import shared_task


@shared_task(name="panels.expire_unconfirmed")
def task_expire_unconfirmed() -> int:
    from .domain import expire_unconfirmed

    return expire_unconfirmed()


@shared_task(name="panels.send_statement_reminders")
def task_send_statement_reminders() -> int:
    from .domain import send_statement_reminders

    return send_statement_reminders()
