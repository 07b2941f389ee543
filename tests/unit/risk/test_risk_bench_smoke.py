from risk import bench


def test_the_risk_benchmark_runs_each_mode_on_a_small_stream_and_refuses_nothing(capsys):
    assert bench.main(["--resting", "300", "--operations", "3000", "--rounds", "1"]) == 0
    rows = [line.split() for line in capsys.readouterr().out.splitlines() if line.strip().startswith("300")]
    assert [row[1] for row in rows] == ["off", "checks", "breakers"]
    assert all(float(row[2].replace(",", "")) > 0 for row in rows)
    assert not any("refused" in " ".join(row) for row in rows), "the limits are out of the stream's reach"
