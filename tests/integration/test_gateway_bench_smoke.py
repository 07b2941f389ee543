import pytest

from fix_gateway import bench


def _rows(out: str) -> list[list[str]]:
    return [line.split() for line in out.splitlines() if line.split()[:1] in (["venue"], ["quickfix"], ["qf-memory"])]


def test_the_gateway_benchmark_trades_through_a_real_fixex_serve_and_prints_its_figures(capsys):
    # Every audit and risk mode once, at one window (each run starts its own fixex serve).
    assert bench.main(["--orders", "300", "--in-flight", "8", "--flow", "crossing", "--sessions", "2",
                       "--audit", "both", "--risk", "both"]) == 0
    out = capsys.readouterr().out
    rows = _rows(out)
    assert [tuple(row[:4]) for row in rows] == [("venue", "8", audit, risk) for audit in ("off", "on")
                                                for risk in ("off", "on")], out
    assert all(float(row[4].replace(",", "")) > 0 and float(row[6]) > 0 for row in rows), out
    assert all(row[5] == "-" for row in rows), out  # no reference run, so no fraction of it
    assert all(float(row[9]) > 0 for row in rows), out  # the load client's own CPU per order


def test_the_gateway_benchmark_measures_quickfix_alone_before_the_venue_and_prints_the_venues_share(capsys):
    assert bench.main(["--orders", "300", "--in-flight", "8", "--reference", "both", "--audit", "off"]) == 0
    out = capsys.readouterr().out
    rows = _rows(out)
    assert [row[0] for row in rows] == ["quickfix", "qf-memory", "venue"], out
    quickfix, memory, venue = rows
    assert quickfix[5] == memory[5] == "-", out
    assert float(venue[5]) == pytest.approx(float(venue[4].replace(",", "")) / float(quickfix[4].replace(",", "")),
                                            abs=0.01), out


def test_repeat_runs_the_whole_set_again_in_the_same_order(capsys):
    assert bench.main(["--orders", "100", "--in-flight", "8", "--audit", "off", "--repeat", "2"]) == 0
    rows = _rows(capsys.readouterr().out)
    assert [(row[0], row[1], row[2]) for row in rows] == [("venue", "8", "off")] * 2


def test_the_reference_acceptor_is_refused_with_the_crossing_flow_since_it_matches_nothing(capsys):
    with pytest.raises(SystemExit):
        bench.main(["--flow", "crossing", "--sessions", "2", "--reference", "file"])
    assert "--reference acknowledges orders without matching them" in capsys.readouterr().err


def test_a_repeat_below_one_is_refused_by_name(capsys):
    with pytest.raises(SystemExit):
        bench.main(["--repeat", "0"])
    assert "--repeat must be at least 1, not 0" in capsys.readouterr().err


def test_the_market_data_benchmark_compares_order_entry_with_and_without_subscribers(capsys):
    assert bench.main(["--market-data", "--subscribers", "3", "--rate", "300", "--seconds", "1"]) == 0
    out = capsys.readouterr().out
    rows = [line.split() for line in out.splitlines() if line.strip()[:1].isdigit()]
    assert [row[0] for row in rows] == ["0", "3"], out  # the output says what went wrong on a failure
    without, with_subscribers = rows
    assert int(without[4].replace(",", "")) == 0 and int(with_subscribers[4].replace(",", "")) > 0, out
    assert with_subscribers[5].isdigit() and with_subscribers[6].isdigit(), out  # the exchange reported its lag
    assert float(with_subscribers[7]) > 0, out  # the order client's own CPU per order
    assert "x the p99 without" in out
