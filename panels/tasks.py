from celery import shared_task

from .domain import expire_unconfirmed, send_statement_reminders


@shared_task(name="panels.expire_unconfirmed")
def task_expire_unconfirmed() -> int:
    return expire_unconfirmed()


@shared_task(name="panels.send_statement_reminders")
def task_send_statement_reminders() -> int:
    return send_statement_reminders()


@shared_task(name="panels.remind_guest_lists")
def task_remind_guest_lists() -> int:
    from .palais import remind_coordinators

    return remind_coordinators()
