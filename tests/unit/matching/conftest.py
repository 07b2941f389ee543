import os

import pytest

from venue_harness import Venue


@pytest.fixture
def venue() -> Venue:
    return Venue()


@pytest.fixture
def missing_build():
    """Report a compiled part of the core that was not built: a loud skip here, a failure under CI=true,
    where the suite must run what a fresh install builds."""
    def report(reason: str) -> None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return report
