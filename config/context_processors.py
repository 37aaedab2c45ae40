from django.conf import settings


def site(request):
    return {"contact_email": settings.CONTACT_EMAIL}
