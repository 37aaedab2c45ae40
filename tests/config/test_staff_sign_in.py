"""Staff sign in with a password and a second factor; guessing is throttled; sessions end; headers protect every page."""

import re
import time

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django_otp.plugins.otp_totp.models import TOTPDevice

from config.middleware import LAST_SEEN_KEY
from tests.factories import login_staff, sign_in

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-staff-password-7"


@pytest.fixture
def carla(db):
    user = get_user_model().objects.create_user("carla", password=PASSWORD, is_staff=True)
    user.groups.add(Group.objects.get(name="Coordinator"))
    TOTPDevice.objects.create(user=user, name="default", confirmed=True)
    return user


def test_a_password_alone_does_not_open_the_staff_site(client, carla):
    response = client.post(
        "/account/login/", {"login_view-current_step": "auth", "auth-username": "carla", "auth-password": PASSWORD}
    )
    assert response.status_code == 200 and b'name="token-otp_token"' in response.content  # the second step
    assert client.get("/admin/").status_code == 302
    assert client.get("/staff/sessions/60/dashboard/").status_code == 302


def test_a_wrong_code_is_refused_then_codes_are_throttled(client, carla):
    assert sign_in(client, "carla", PASSWORD, code="000000").status_code == 200
    assert client.get("/admin/").status_code == 302
    # After a wrong code, even the right one waits a moment (then twice as long after each failure).
    assert sign_in(client, "carla", PASSWORD).status_code == 200
    time.sleep(2.1)
    assert sign_in(client, "carla", PASSWORD).status_code == 302
    assert client.get("/admin/").status_code == 200


def test_thirty_wrong_passwords_lock_the_account_even_for_the_right_one(client, carla):
    for _ in range(30):
        sign_in(client, "carla", "wrong-password")
    response = sign_in(client, "carla", PASSWORD)
    assert response.status_code == 429
    assert "Sign-in locked" in response.content.decode()
    assert client.get("/admin/").status_code == 302


def test_staff_without_a_second_factor_are_sent_to_enrol_one(client, carla):
    TOTPDevice.objects.filter(user=carla).delete()
    response = sign_in(client, "carla", PASSWORD)
    assert response.status_code == 302
    assert client.get("/admin/")["Location"].startswith("/admin/login/")
    assert client.get("/admin/login/?next=/admin/")["Location"] == "/account/two_factor/setup/"
    assert client.get("/staff/sessions/60/dashboard/")["Location"] == "/account/two_factor/setup/"


def test_the_second_factor_cannot_be_turned_off(client, carla):
    login_staff(client, carla)
    assert client.get("/account/two_factor/disable/").status_code == 404
    assert b"Disable" not in client.get("/account/two_factor/").content


def test_a_staff_session_ends_after_a_working_day_without_activity(client, carla, settings):
    login_staff(client, carla)
    assert settings.SESSION_COOKIE_AGE <= 10 * 3600
    session = client.session
    session[LAST_SEEN_KEY] = int(time.time()) - settings.SESSION_ACTIVITY_REFRESH_SECONDS - 1
    session.save()
    response = client.get("/admin/")
    assert response.status_code == 200
    assert response.cookies["sessionid"]["max-age"] == settings.SESSION_COOKIE_AGE  # activity slides the expiry
    assert client.session.get_expiry_age() <= settings.SESSION_COOKIE_AGE


@pytest.mark.parametrize("url", ["/", "/sessions/60/apply/", "/account/login/", "/admin/"])
def test_every_page_sends_a_content_security_policy_without_inline_scripts(client, url):
    response = client.get(url)
    policy = response["Content-Security-Policy"]
    script = next(part for part in policy.split(";") if part.strip().startswith("script-src"))
    assert "'unsafe-inline'" not in script and "'unsafe-eval'" not in script
    assert "frame-ancestors 'none'" in policy
    assert "camera=()" in response["Permissions-Policy"] and "geolocation=()" in response["Permissions-Policy"]


@pytest.mark.parametrize(("language", "text"), [("fr", "Connexion bloquée"), ("es", "Acceso bloqueado")])
def test_the_lockout_page_reads_in_french_and_spanish(client, carla, settings, language, text):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    for _ in range(6):
        response = sign_in(client, "carla", "wrong-password")
    assert response.status_code == 429 and text in response.content.decode()


@pytest.mark.parametrize(
    "url",
    [
        "/admin/otp_totp/totpdevice/?key__startswith=1",
        "/admin/otp_static/staticdevice/?token_set__token__startswith=a",
        "/admin/auth/user/?password__startswith=pbkdf2",
        "/admin/applications/application/?link_key__startswith=a",
        "/admin/applications/application/?pending_email_key__gt=a",
        "/admin/outbox/email/?body_text__contains=applications",
        "/admin/panels/panelmember/?statement_key__startswith=a",
    ],
)
def test_no_admin_page_filters_on_a_secret_field_not_even_for_a_superuser(client, url):
    superuser = get_user_model().objects.create_superuser("root", password=PASSWORD)
    TOTPDevice.objects.create(user=superuser, name="default", confirmed=True)
    login_staff(client, superuser)
    assert client.get(url).status_code == 400
    assert client.get(url.split("?")[0]).status_code == 200


def test_the_totp_command_prints_a_code_on_a_demo_machine_only(carla, settings, capsys):
    from django.core.management import CommandError, call_command

    settings.DEBUG = True
    call_command("totp", "carla")
    assert re.fullmatch(r"\d{6}\n", capsys.readouterr().out)
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG"):
        call_command("totp", "carla")
