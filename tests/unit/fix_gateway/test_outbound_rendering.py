"""The fast path for acknowledgements writes exactly what the general renderer writes."""

from pathlib import Path

from config import load_settings
from fix_gateway.inbound import parse
from fix_gateway.outbound import Outbound, fix_timestamp
from fix_gateway.versions import FIX42, FIX44, FIX50SP2
from matching import OrderAccepted, OrderType, Side, TimeInForce

SETTINGS = load_settings(Path(__file__).resolve().parents[3] / "config" / "exchange.yaml")
OUTBOUND = Outbound({i.symbol: i for i in SETTINGS.instruments})


def test_the_acknowledgement_fast_path_matches_the_general_renderer_field_for_field():
    event = OrderAccepted(7, 1_763_800_000_123_000_000, 42, "BROKER1", "FIRM_A", "A1", "AAPL", Side.SELL,
                          OrderType.LIMIT, TimeInForce.GTC, 100, 1_900_100, None, None)
    for version in (FIX42, FIX44, FIX50SP2):
        fast = parse(OUTBOUND.render(event, version))
        general = parse(OUTBOUND._execution_report(
            version, event, exec_type="0", ord_status="0", order_id="42", client_order_id="A1", symbol="AAPL",
            side=Side.SELL, leaves=100, cum=0, cum_notional=0, quantity=100, price=1_900_100,
            order_type=OrderType.LIMIT, time_in_force=TimeInForce.GTC))
        assert fast == general
        assert fast["44"] == "190.01" and fast["60"] == "20251122-08:26:40.123"


def test_timestamps_are_utc_with_milliseconds_across_second_boundaries():
    assert fix_timestamp(1_763_800_000_999_999_999) == "20251122-08:26:40.999"
    assert fix_timestamp(1_763_800_001_000_000_000) == "20251122-08:26:41.000"


def test_parse_keeps_the_first_occurrence_of_a_repeated_tag():
    assert parse("35=D\x0111=A\x0148=X\x0148=Y\x01") == {"35": "D", "11": "A", "48": "X"}
