from celery import shared_task


@shared_task(name="applications.send_deadline_reminders")
def task_send_deadline_reminders() -> int:
    from .domain import send_deadline_reminders

    return send_deadline_reminders()


@shared_task(name="applications.send_call_alerts")
def task_send_call_alerts() -> int:
    from .domain import send_call_alerts

    return send_call_alerts()
