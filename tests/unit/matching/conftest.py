import pytest

from venue_harness import Venue


@pytest.fixture
def venue() -> Venue:
    return Venue()
