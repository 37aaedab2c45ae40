from django.urls import path

from . import views

app_name = "panels"

urlpatterns = [
    path("staff/sessions/<int:number>/panels/", views.session_panels, name="session"),
    path("staff/panels/<int:review_id>/", views.panel_detail, name="panel"),
    path("applications/<str:token>/participation/", views.participation, name="participation"),
]
