from fix_gateway import bench


def test_the_gateway_benchmark_trades_through_a_real_fixex_serve_and_prints_its_figures(capsys):
    assert bench.main(["--orders", "300", "--in-flight", "8,1", "--flow", "crossing", "--sessions", "2"]) == 0
    rows = [line.split() for line in capsys.readouterr().out.splitlines() if line.strip()[:1].isdigit()]
    assert [row[0] for row in rows] == ["8", "1"]
    assert all(float(row[1].replace(",", "")) > 0 and float(row[2]) > 0 for row in rows)
