import random

import pytest
from sortedcontainers import SortedDict

from matching.book import LevelKeys, PriceLevel, add_level, drop_level, highest_key, lowest_key
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


def test_adding_and_dropping_levels_directly_leaves_the_same_sorted_dict_as_its_public_api():
    rng = random.Random(5)
    direct, public = SortedDict(), SortedDict()
    side = LevelKeys(direct)
    indexed = 0
    for _ in range(20_000):
        if public and rng.random() < 0.4:
            price = rng.choice(public.keys())
            drop_level(side, price)
            del public[price]
        else:
            price = rng.randint(1, 10**6)
            if price in public:
                continue  # add_level is for a new price only
            add_level(side, PriceLevel(price, Side.BUY))
            public[price] = price
        if len(public) % 97 == 0:
            assert list(direct.keys()) == list(public.keys())
            direct._check()  # sortedcontainers' own consistency check of its sorted key list
        if len(public) % 89 == 0 and len(direct._list._lists) > 2:
            # A positional read past the first sublist builds sortedcontainers' index, which the helpers
            # then leave to its own code.
            position = len(direct._list._lists[0]) + 1
            assert direct.keys()[position] == public.keys()[position]
            assert direct._list._index
            indexed += 1
    assert indexed > 10
    assert side.are_the_sorted_dicts_own()  # sortedcontainers split, merged and indexed in the same lists
    assert list(direct.keys()) == list(public.keys())
    direct._check()
    assert all(direct[price].price == price for price in direct)


def test_the_book_reads_its_levels_through_its_own_bids_and_asks(venue):
    venue.buy(1, 10.00)
    venue.sell(2, 10.01)
    book = venue.engine.book("AAPL")
    assert book.bid_at(px(10.00)) is book.bids[px(10.00)] and book.ask_at(px(10.01)) is book.asks[px(10.01)]
    assert book.bid_at(px(10.01)) is None and book.ask_at(px(10.00)) is None


def test_best_prices_follow_the_book(venue):
    assert venue.engine.book("AAPL").best_bid() is None
    venue.buy(1, 9.99)
    venue.buy(1, 10.00)
    venue.sell(1, 10.02)
    venue.sell(1, 10.01)
    book = venue.engine.book("AAPL")
    assert (book.best_bid(), book.best_ask()) == (px(10.00), px(10.01))
    assert venue.depth(Side.SELL) == [(10.01, 1), (10.02, 1)]


def test_the_dict_operations_go_past_a_subclass_own_methods_and_refuse_what_is_not_a_dict():
    from matching.frozen import dict_del_item, dict_set_item

    levels = SortedDict()
    dict_set_item(levels, 5, "five")
    assert dict.get(levels, 5) == "five" and list(levels._list) == []  # the key list is the caller's to keep
    dict_del_item(levels, 5)
    assert dict.__len__(levels) == 0
    with pytest.raises(KeyError):
        dict_del_item(levels, 5)
    with pytest.raises(TypeError):
        dict_set_item([], 1, 2)
    with pytest.raises(TypeError):
        dict_del_item({})


def test_kept_key_lists_that_sortedcontainers_no_longer_uses_are_noticed():
    levels = SortedDict()
    side = LevelKeys(levels)
    add_level(side, PriceLevel(5, Side.BUY))
    assert side.are_the_sorted_dicts_own()
    levels._list._reset(levels._list._load * 2)  # rebinds the load factor add_level and drop_level kept
    assert not side.are_the_sorted_dicts_own()
