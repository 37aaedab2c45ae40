import pytest
from django.utils import translation

from applications.forms import ApplicationForm, OrganisationForm
from presessions.importers import load_themes
from presessions.models import Theme
from tests.factories import make_session

pytestmark = pytest.mark.django_db


def test_every_shipped_theme_has_a_french_and_a_spanish_label():
    load_themes()
    assert Theme.objects.filter(label_fr="").count() == 0
    assert Theme.objects.filter(label_es="").count() == 0
    assert Theme.objects.get(slug="human-rights-defenders").label_fr == "Défenseurs des droits humains"
    assert Theme.objects.get(slug="human-rights-defenders").label_es == "Defensores de los derechos humanos"


def test_a_theme_shows_the_label_of_the_active_language_or_else_the_english_one():
    theme = Theme.objects.create(slug="torture", label="Torture", label_fr="Torture", label_es="Tortura")
    new = Theme.objects.create(slug="new", label="A new theme")
    with translation.override("es"):
        assert (str(theme), str(new)) == ("Tortura", "A new theme")
    with translation.override("en"):
        assert str(theme) == "Torture"


def test_the_application_form_lists_themes_in_the_order_of_the_language():
    session = make_session()
    Theme.objects.create(slug="elections", label="Elections", label_fr="Élections", label_es="Elecciones")
    Theme.objects.create(slug="detention", label="Detention", label_fr="Détention", label_es="Detención")
    Theme.objects.create(slug="environment", label="Environment", label_fr="Environnement", label_es="Medio ambiente")
    with translation.override("fr"):
        labels = [label for _pk, label in ApplicationForm(session=session).fields["themes"].choices]
    assert labels == ["Détention", "Élections", "Environnement"]  # "É" sorts with "E", not after "Z"
    with translation.override("es"):
        labels = [label for _pk, label in ApplicationForm(session=session).fields["themes"].choices]
    assert labels == ["Detención", "Elecciones", "Medio ambiente"]


def test_help_texts_with_a_number_are_in_the_language_of_the_request():
    session = make_session()
    with translation.override("fr"):
        assert OrganisationForm().fields["aim"].help_text == "200 mots au maximum."
        statement = ApplicationForm(session=session).fields["statement_summary"].help_text
    assert statement.endswith("Jusqu'à 2\xa0000 caractères.")
    with translation.override("es"):
        assert ApplicationForm(session=session).fields["themes"].help_text == "Elija entre 1 y 3 temas."
