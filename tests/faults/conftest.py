from tests.faults.test_faults import pytest_terminal_summary  # noqa: F401 -- prints the fault table at the end
