"""The sample city of tests/catalog (a workspace with every kind of package), for the archiving flows."""

from tests.catalog.conftest import city, golden  # noqa: F401 - fixtures
