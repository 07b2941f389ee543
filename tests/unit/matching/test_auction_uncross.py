"""The reopening auction's price: most volume, then least imbalance, then closest to the reference."""

import pytest

from matching import Uncross, uncross

CASES = [
    # (bids best first, asks best first, reference) -> (price, volume, imbalance)
    pytest.param([(101, 10)], [(99, 10)], 100, Uncross(100, 10, 0), id="equal interest uncrosses at the reference"),
    pytest.param([(102, 5), (101, 10)], [(100, 8), (101, 4)], 100, Uncross(101, 12, 3),
                 id="the price that executes the most volume wins"),
    pytest.param([(101, 10)], [(100, 10), (101, 5)], 101, Uncross(100, 10, 0),
                 id="equal volume: the smaller imbalance wins over the reference"),
    pytest.param([(105, 10)], [(95, 10)], 98, Uncross(98, 10, 0),
                 id="equal volume and imbalance: the reference itself when it lies inside the cross"),
    pytest.param([(105, 10)], [(101, 10)], 110, Uncross(105, 10, 0),
                 id="reference above the cross: the highest crossing price"),
    pytest.param([(105, 10)], [(101, 10)], 90, Uncross(101, 10, 0),
                 id="reference below the cross: the lowest crossing price"),
    pytest.param([(103, 20), (102, 30)], [(100, 10), (101, 10), (102, 10)], 100, Uncross(102, 30, 20),
                 id="buyers left over show as a positive imbalance"),
    pytest.param([(102, 10)], [(99, 5), (100, 25)], 101, Uncross(101, 10, -20),
                 id="sellers left over show as a negative imbalance"),
]


@pytest.mark.parametrize("bids, asks, reference, expected", CASES)
def test_the_auction_uncrosses_at_the_known_price_volume_and_imbalance(bids, asks, reference, expected):
    assert uncross(bids, asks, reference) == expected


@pytest.mark.parametrize("bids, asks", [([(99, 10)], [(100, 10)]), ([], [(100, 10)]), ([(100, 10)], [])])
def test_a_book_that_does_not_cross_has_no_auction_price(bids, asks):
    assert uncross(bids, asks, 100) is None
