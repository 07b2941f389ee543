import random

from sortedcontainers import SortedDict

from matching.book import highest_key, lowest_key
from matching import Side
from venue_harness import px


def test_the_fast_key_helpers_agree_with_sortedcontainers_public_api_as_keys_come_and_go():
    rng = random.Random(4)
    levels = SortedDict()
    for _ in range(20_000):  # enough keys to split the internal sublists many times
        if levels and rng.random() < 0.4:
            del levels[rng.choice(levels.keys())]
        else:
            levels[rng.randint(-10**6, 10**6)] = None
        if levels:
            assert lowest_key(levels) == levels.keys()[0]
            assert highest_key(levels) == levels.keys()[-1]


def test_best_prices_follow_the_book(venue):
    assert venue.engine.book("AAPL").best_bid() is None
    venue.buy(1, 9.99)
    venue.buy(1, 10.00)
    venue.sell(1, 10.02)
    venue.sell(1, 10.01)
    book = venue.engine.book("AAPL")
    assert (book.best_bid(), book.best_ask()) == (px(10.00), px(10.01))
    assert venue.depth(Side.SELL) == [(10.01, 1), (10.02, 1)]
