from django.urls import path

from . import attendance_views, home_views, public_views, record_views, views

app_name = "panels"

urlpatterns = [
    path("staff/sessions/<int:number>/", home_views.session_home, name="session_home"),
    path("staff/sessions/<int:number>/panels/", views.session_panels, name="session"),
    path("staff/sessions/<int:number>/schedule/", views.schedule_staff, name="schedule_staff"),
    path("staff/panels/<int:review_id>/", views.panel_detail, name="panel"),
    path("staff/panel-members/<int:pk>/statement.pdf", views.statement_file, name="statement_file"),
    path("staff/sessions/<int:number>/attendance/", attendance_views.attendance_staff, name="attendance_staff"),
    path("staff/sessions/<int:number>/attendance/<str:day>/sheet/", attendance_views.sign_in_sheet, name="sign_in_sheet"),
    path("staff/meetings/<int:review_id>/check-in/", attendance_views.check_in, name="check_in"),
    path("staff/sessions/<int:number>/guest-list/<str:day>/", attendance_views.guest_list, name="guest_list"),
    path(
        "staff/sessions/<int:number>/guest-list/<str:day>.csv",
        attendance_views.guest_list,
        {"csv_format": True},
        name="guest_list_csv",
    ),
    path("staff/sessions/<int:number>/training/", attendance_views.training, name="training"),
    path("staff/record/", record_views.record_staff, name="record_staff"),
    path("staff/record/<str:by>.csv", record_views.record_csv, name="record_csv"),
    path("in-figures/", record_views.record_public, name="record_public"),
    path("applications/<str:token>/participation/", views.participation, name="participation"),
    path("applications/<str:token>/visa-letter.pdf", views.visa_letter_pdf, name="visa_letter_pdf"),
    path("staff/sessions/<int:number>/visa-letters/", views.visa_letters, name="visa_letters"),
    path("staff/visa-letters/<int:pk>.pdf", views.visa_letter_staff_pdf, name="visa_letter_staff_pdf"),
    path("sessions/<int:number>/schedule/", public_views.schedule, name="schedule"),
    path("sessions/<int:number>/schedule/changes/", public_views.changes, name="changes"),
    path("sessions/<int:number>/schedule/subscribe/", public_views.subscribe, name="subscribe"),
    path("sessions/<int:number>/schedule/attend/", attendance_views.attend, name="attend"),
    path("mission-attendance/<str:token>/", attendance_views.attendance_confirm, name="attendance_confirm"),
    path("sessions/<int:number>/schedule/<str:iso2>/", public_views.meeting, name="meeting"),
    path("sessions/<int:number>/schedule.ics", public_views.ics, name="ics"),
    path("sessions/<int:number>/schedule.json", public_views.schedule_json, name="json"),
    path("statements/<str:key>.pdf", public_views.statement, name="statement"),
    path("schedule-alerts/<str:token>/confirm/", public_views.subscription_confirm, name="subscription_confirm"),
    path("schedule-alerts/<str:token>/unsubscribe/", public_views.subscription_unsubscribe, name="subscription_unsubscribe"),
]
