"""`fixex watch`'s book model: snapshots, incrementals, trades and trading status from hand-made messages."""

from __future__ import annotations

from decimal import Decimal

from fix_gateway.watch import Level, Print, WatchBook, entries_of, render_frame


def snapshot(*entries: list[tuple[str, str]], symbol: str = "AAPL") -> list[tuple[str, str]]:
    pairs = [("35", "W"), ("262", "R1"), ("55", symbol), ("268", str(len(entries)))]
    for entry in entries:
        pairs += entry
    return pairs + [("10", "000")]


def incremental(*entries: list[tuple[str, str]]) -> list[tuple[str, str]]:
    pairs = [("35", "X"), ("262", "R1"), ("268", str(len(entries)))]
    for entry in entries:
        pairs += entry
    return pairs + [("10", "000")]


def level(entry_type: str, price: str, size: int, orders: int | None = None) -> list[tuple[str, str]]:
    return [("269", entry_type), ("270", price), ("271", str(size))] + ([("346", str(orders))] if orders else [])


def change(action: str, entry_type: str, price: str, size: int | None = None, orders: int | None = None,
           symbol: str = "AAPL", time: str | None = None) -> list[tuple[str, str]]:
    pairs = [("279", action), ("269", entry_type), ("55", symbol), ("270", price)]
    if size is not None:
        pairs.append(("271", str(size)))
    if time is not None:
        pairs.append(("273", time))
    if orders is not None:
        pairs.append(("346", str(orders)))
    return pairs


def book_after_snapshot() -> WatchBook:
    book = WatchBook("AAPL", max_trades=3)
    assert book.apply("W", snapshot(level("0", "189.99", 100, 1), level("0", "189.98", 300, 2),
                                    level("1", "190.01", 200, 1), level("1", "190.03", 50, 1),
                                    [("269", "2"), ("270", "190.00"), ("271", "10"), ("273", "10:00:00.000")]))
    return book


def test_entries_of_splits_groups_at_their_first_tag_and_ignores_the_trailer():
    w = snapshot(level("0", "1.00", 5), level("1", "1.01", 6))
    assert entries_of("W", w) == [{"269": "0", "270": "1.00", "271": "5"}, {"269": "1", "270": "1.01", "271": "6"}]
    x = incremental(change("2", "0", "1.00"), change("0", "1", "1.02", 7))
    assert [e["279"] for e in entries_of("X", x)] == ["2", "0"]
    assert entries_of("W", snapshot()) == []


def test_snapshot_builds_both_sides_best_first_and_takes_its_trade_entry_as_the_last_trade():
    book = book_after_snapshot()
    bids, offers = book.ladder(10)
    assert bids == [(Decimal("189.99"), Level(100, 1)), (Decimal("189.98"), Level(300, 2))]
    assert offers == [(Decimal("190.01"), Level(200, 1)), (Decimal("190.03"), Level(50, 1))]
    assert list(book.trades) == [Print(Decimal("190.00"), 10, "10:00:00.000")]
    assert book.snapshots == 1


def test_a_snapshot_for_another_symbol_is_ignored():
    book = book_after_snapshot()
    assert not book.apply("W", snapshot(level("0", "1.00", 1), symbol="MSFT"))
    assert Decimal("189.99") in book.bids


def test_incrementals_add_change_and_delete_levels():
    book = book_after_snapshot()
    book.apply("X", incremental(change("0", "0", "190.00", 70, 1),  # a new best bid
                                change("1", "1", "190.01", 150, 2),  # the best offer shrinks, one more order
                                change("2", "0", "189.98")))  # a level gone (a delete carries only the price)
    bids, offers = book.ladder(10)
    assert bids == [(Decimal("190.00"), Level(70, 1)), (Decimal("189.99"), Level(100, 1))]
    assert offers[0] == (Decimal("190.01"), Level(150, 2))
    assert book.updates == 1


def test_a_change_without_order_count_keeps_the_one_known():
    book = book_after_snapshot()
    book.apply("X", incremental(change("1", "0", "189.98", 250)))
    assert book.bids[Decimal("189.98")] == Level(250, 2)


def test_incremental_entries_of_other_symbols_are_skipped():
    book = book_after_snapshot()
    book.apply("X", incremental(change("0", "0", "5.00", 1, symbol="MSFT")))
    assert Decimal("5.00") not in book.bids


def test_trades_are_kept_newest_last_up_to_the_limit():
    book = book_after_snapshot()
    book.apply("X", incremental(change("0", "2", "190.01", 20, time="10:00:01.000"),
                                change("1", "1", "190.01", 180, 1)))
    book.apply("X", incremental(change("0", "2", "190.03", 5), change("0", "2", "190.04", 6)))
    assert [t.price for t in book.trades] == [Decimal("190.01"), Decimal("190.03"), Decimal("190.04")]
    assert book.trades[0] == Print(Decimal("190.01"), 20, "10:00:01.000")


def test_a_second_snapshot_replaces_the_book_and_does_not_repeat_the_last_trade():
    book = book_after_snapshot()
    book.apply("W", snapshot(level("1", "190.50", 1), [("269", "2"), ("270", "190.00"), ("271", "10"),
                                                       ("273", "10:00:00.000")]))
    assert book.bids == {} and list(book.offers) == [Decimal("190.50")]
    assert len(book.trades) == 1


def test_security_status_sets_the_status_the_band_and_the_text():
    book = WatchBook("AAPL")
    assert book.status_name == "status unknown"
    book.apply("f", [("35", "f"), ("324", "S1"), ("55", "AAPL"), ("326", "17"), ("332", "199.50"),
                     ("333", "180.50"), ("60", "20250101-10:00:00.000"), ("58", "continuous trading")])
    assert (book.status, book.status_name, book.band, book.status_text) == (
        "17", "READY TO TRADE", ("180.50", "199.50"), "continuous trading")
    book.apply("f", [("35", "f"), ("55", "AAPL"), ("325", "Y"), ("326", "2"), ("58", "halted by the operator")])
    assert book.status_name == "HALTED" and book.band == ("180.50", "199.50")
    for code, name in (("21", "PRE-OPEN"), ("3", "RESUMED"), ("6", "LIMIT STATE")):
        book.apply("f", [("35", "f"), ("55", "AAPL"), ("326", code)])
        assert book.status_name.startswith(name)
    assert not book.apply("f", [("35", "f"), ("55", "MSFT"), ("326", "2")])
    assert book.status == "6"


def test_a_refused_status_request_and_a_refused_subscription_are_remembered():
    book = WatchBook("AAPL")
    book.apply("j", [("35", "j"), ("372", "e"), ("380", "3"), ("58", "unsupported")])
    assert book.status_refused == "unsupported" and book.status_name == "status unknown"
    book.apply("Y", [("35", "Y"), ("262", "R1"), ("281", "0"), ("58", "unknown symbol")])
    assert book.error == "unknown symbol"


def test_frame_shows_status_ladder_with_order_counts_and_last_trades_without_escapes():
    book = book_after_snapshot()
    book.apply("f", [("35", "f"), ("55", "AAPL"), ("326", "17"), ("332", "199.50"), ("333", "180.50")])
    frame = "\n".join(render_frame(book, depth=1))
    assert "\x1b" not in frame
    assert "READY TO TRADE" in frame and "180.50 - 199.50" in frame
    assert "spread 0.02" in frame
    ladder = [line for line in frame.splitlines() if "|" in line and "bid" not in line]
    assert len(ladder) == 1 and "189.99" in ladder[0] and "190.01" in ladder[0] and "189.98" not in frame
    assert "190.00 x 10" in frame


def test_frame_of_an_empty_book_says_so_and_colours_only_when_asked():
    book = WatchBook("AAPL")
    frame = render_frame(book)
    assert any("(empty book)" in line for line in frame) and any("status unknown" in line for line in frame)
    assert any("\x1b[" in line for line in render_frame(book_after_snapshot(), color=True))
