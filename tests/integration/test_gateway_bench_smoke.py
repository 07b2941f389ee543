from fix_gateway import bench


def test_the_gateway_benchmark_trades_through_a_real_fixex_serve_and_prints_its_figures(capsys):
    # Every audit and risk mode once, at one window (each run starts its own fixex serve).
    assert bench.main(["--orders", "300", "--in-flight", "8", "--flow", "crossing", "--sessions", "2",
                       "--audit", "both", "--risk", "both"]) == 0
    out = capsys.readouterr().out
    rows = [line.split() for line in out.splitlines() if line.strip()[:1].isdigit()]
    assert [tuple(row[:3]) for row in rows] == [("8", audit, risk) for audit in ("off", "on")
                                                for risk in ("off", "on")], out
    assert all(float(row[3].replace(",", "")) > 0 and float(row[4]) > 0 for row in rows), out
    assert all(float(row[7]) > 0 for row in rows), out  # the load client's own CPU per order


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
