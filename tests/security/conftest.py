from tests.applications.conftest import cast, kenya, open_session, smtp_sink, themes, turkiye  # noqa: F401 -- the same fixtures
