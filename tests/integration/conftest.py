"""Integration fixtures: the real acceptor on a free port, and real QuickFIX clients."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from config import load_settings
from fix_gateway.gateway import Gateway, with_port
from fix_gateway.market_data_feed import MarketDataFeed
from fix_gateway.sessions import load_sessions
from fix_client import FixClient, free_port

REPO = Path(__file__).resolve().parents[2]


class Venue:
    def __init__(self, tmp_path: Path, config_text: str | None = None, sessions_path: Path | None = None) -> None:
        self.tmp_path = tmp_path
        config = REPO / "config" / "exchange.yaml"
        if config_text is not None:
            config = tmp_path / "exchange.yaml"
            config.write_text(config_text)
        self.port = free_port()
        self.market_data_port = free_port()
        self.settings = with_port(load_settings(config), self.port, market_data_port=self.market_data_port)
        self.sessions = load_sessions(sessions_path or REPO / "sessions.cfg", self.settings)
        self.gateway = Gateway(self.settings, self.sessions, work_dir=tmp_path)
        self.feed: MarketDataFeed | None = None  # started when a market-data session first connects
        self.clients: list[FixClient] = []

    def market_data(self) -> MarketDataFeed:
        """The market-data feed, as `fixex serve` runs it in its own process (here: threads of this one)."""
        if self.feed is None:
            self.feed = MarketDataFeed(self.settings, self.sessions, work_dir=self.tmp_path)
            self.feed.start()
        return self.feed

    def client(self, comp_id: str, version: str, **kw) -> FixClient:
        port = self.port
        if self.settings.session(comp_id).role != "order_entry":  # market data and drop copy: the feed's port
            self.market_data()
            port = self.market_data_port
        client = FixClient(comp_id, version, port, self.tmp_path, **kw)
        self.clients.append(client)
        return client.start(expect_logon=kw.get("password", "") != "wrong")

    def stop(self) -> None:
        # A QuickFIX initiator notices its stop only when its poll times out (up to a second), and the
        # binding lets go of the GIL meanwhile: the clients stop side by side. The venue stops after them,
        # so no socket of theirs is still being torn down while its shutdown guard connects.
        stopping = [threading.Thread(target=client.stop, name=f"stop {client.comp_id}") for client in self.clients]
        for thread in stopping:
            thread.start()
        for thread in stopping:
            thread.join()
        if self.feed is not None:
            self.feed.stop()
        self.gateway.stop()


@pytest.fixture
def make_venue(tmp_path):
    venues = []

    def make(config_text: str | None = None) -> Venue:
        venue = Venue(tmp_path, config_text)
        venue.gateway.start()
        venues.append(venue)
        return venue

    yield make
    for venue in venues:
        venue.stop()
        for client in venue.clients:
            assert client.rejects_sent == [], f"{client.comp_id} rejected messages we sent: {client.rejects_sent}"


@pytest.fixture
def venue(make_venue):
    return make_venue()
