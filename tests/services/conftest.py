from tests.applications.conftest import kenya, open_session, smtp_sink, themes, turkiye  # noqa: F401 -- the same fixtures
