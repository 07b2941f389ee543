"""A market-data subscriber as a client would write it: it knows only what it was sent."""

from __future__ import annotations

from marketdata.model import Entry, EntryType, Incremental, Snapshot, UpdateAction


class SubscriberModel:
    def __init__(self) -> None:
        self.bids: dict[str, dict[int, tuple[int, int | None]]] = {}
        self.offers: dict[str, dict[int, tuple[int, int | None]]] = {}
        self.trades: dict[str, list[tuple[int, int]]] = {}
        self.statistics: dict[str, dict[EntryType, tuple]] = {}
        self.rpt_seq: dict[str, int] = {}

    def receive(self, publication) -> None:
        if isinstance(publication, Snapshot):
            symbol = publication.symbol
            self.bids[symbol], self.offers[symbol], self.statistics[symbol] = {}, {}, {}
            self.rpt_seq[symbol] = publication.rpt_seq
            for entry in publication.entries:
                self._apply(entry, snapshot=True)
        elif isinstance(publication, Incremental):
            for entry in publication.entries:
                expected = self.rpt_seq[entry.symbol] + 1
                assert entry.rpt_seq == expected, f"RptSeq skipped: {entry.rpt_seq} after {expected - 1}"
                self.rpt_seq[entry.symbol] = entry.rpt_seq
                self._apply(entry, snapshot=False)

    def _apply(self, entry: Entry, *, snapshot: bool) -> None:
        symbol = entry.symbol
        if entry.entry_type in (EntryType.BID, EntryType.OFFER):
            levels = (self.bids if entry.entry_type is EntryType.BID else self.offers)[symbol]
            if entry.action is UpdateAction.DELETE:
                assert entry.price in levels, f"delete of a level never sent: {entry}"
                del levels[entry.price]
            else:
                if entry.action is UpdateAction.NEW:
                    assert entry.price not in levels, f"new level already known: {entry}"
                if entry.action is UpdateAction.CHANGE:
                    assert entry.price in levels, f"change of a level never sent: {entry}"
                levels[entry.price] = (entry.size, entry.order_count)
        elif entry.entry_type is EntryType.TRADE:
            if not snapshot:
                self.trades.setdefault(symbol, []).append((entry.price, entry.size))
        elif entry.action is UpdateAction.DELETE:
            del self.statistics[symbol][entry.entry_type]
        else:
            self.statistics[symbol][entry.entry_type] = (entry.price, entry.size)

    def depth(self, symbol: str, bids: bool) -> list[tuple[int, int, int | None]]:
        levels = (self.bids if bids else self.offers)[symbol]
        return [(p, q, n) for p, (q, n) in sorted(levels.items(), reverse=bids)]
