from django.urls import path

from . import views

app_name = "applications"

urlpatterns = [
    path("sessions/<int:number>/apply/", views.apply, name="apply"),
    path("applications/<str:token>/", views.detail, name="detail"),
    path("applications/<str:token>/edit/", views.edit, name="edit"),
    path("applications/<str:token>/withdraw/", views.withdraw, name="withdraw"),
    path("applications/<str:token>/reopen/", views.reopen, name="reopen"),
    path("staff/applications/<int:pk>/report.pdf", views.report_file, name="report_file"),
]
