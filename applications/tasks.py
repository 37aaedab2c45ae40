from celery import shared_task

from .domain import send_call_alerts, send_deadline_reminders


@shared_task(name="applications.send_deadline_reminders")
def task_send_deadline_reminders() -> int:
    return send_deadline_reminders()


@shared_task(name="applications.send_call_alerts")
def task_send_call_alerts() -> int:
    return send_call_alerts()


@shared_task(name="applications.purge_personal_data")
def task_purge_personal_data() -> dict:
    from .privacy import purge

    return dict(purge().counts)


@shared_task(name="applications.remind_reviewers")
def task_remind_reviewers() -> int:
    from .reviewing import remind

    return remind()


@shared_task(name="applications.recalibrate")
def task_recalibrate(session_id: int) -> int:
    from presessions.models import Session

    from .reviewing import recalibrate

    session = Session.objects.filter(pk=session_id, call__isnull=False).first()
    return recalibrate(session) if session else 0
