"""Every checked-in stack file, the catalog and the price table are valid: the gate of the whole suite.

When this fails, tests/conftest.py collects no other test, so a typo in one stack file reads as
one failure with the config error's own message, not hundreds of fixture errors.
"""

from __future__ import annotations

from tests.conftest import project_data_error


def test_every_stack_file_the_catalog_and_the_price_table_are_valid() -> None:
    error = project_data_error()
    assert error is None, error
