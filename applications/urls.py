from django.urls import path

from . import review_views, views

app_name = "applications"

urlpatterns = [
    path("sessions/<int:number>/apply/", views.apply, name="apply"),
    path("sessions/<int:number>/apply/sent/", views.sent, name="sent"),
    path("applications/confirm-email/<str:token>/", views.confirm_email, name="confirm_email"),
    path("applications/<str:token>/", views.detail, name="detail"),
    path("applications/<str:token>/edit/", views.edit, name="edit"),
    path("applications/<str:token>/withdraw/", views.withdraw, name="withdraw"),
    path("applications/<str:token>/reopen/", views.reopen, name="reopen"),
    path("applications/<str:token>/reminders-off/", views.reminders_off, name="reminders_off"),
    path("applications/<str:token>/your-data/", views.your_data, name="your_data"),
    path("applications/<str:token>/your-data.json", views.your_data_json, name="your_data_json"),
    path("applications/<str:token>/erase/", views.erase, name="erase"),
    path("alerts/", views.alert_subscribe, name="alert_subscribe"),
    path("alerts/sent/", views.alert_sent, name="alert_sent"),
    path("alerts/<str:token>/confirm/", views.alert_confirm, name="alert_confirm"),
    path("alerts/<str:token>/unsubscribe/", views.alert_unsubscribe, name="alert_unsubscribe"),
    path("staff/sessions/<int:number>/dashboard/", views.dashboard, name="dashboard"),
    path("staff/applications/<int:pk>/report.pdf", views.report_file, name="report_file"),
    path("staff/sessions/<int:number>/reviewers/", review_views.reviewers, name="reviewers"),
    path("staff/reviews/", review_views.my_reviews, name="my_reviews"),
]
