"""The load suite runs the real events peer and shop of the fault suites."""

from tests.faults.conftest import market

__all__ = ["market"]
