from matching import bench


def test_the_benchmark_runs_a_small_stream_and_prints_throughput_and_latency(capsys):
    assert bench.main(["--resting", "200,400", "--operations", "2000", "--seed", "3", "--breakers", "both"]) == 0
    out = capsys.readouterr().out
    rows = [line.split() for line in out.splitlines() if line.strip().startswith(("200", "400"))]
    assert [row[0] for row in rows] == ["200", "200", "400", "400"]
    assert [row[1] for row in rows] == ["off", "on", "off", "on"], "each size with circuit breakers off, then on"
    assert all(float(row[2].replace(",", "")) > 0 for row in rows)
    assert "by kind" in out and "marketable" in out and "cancel" in out


def test_the_recorded_stream_keeps_the_book_near_its_target_size():
    recorder = bench.StreamRecorder(resting=2000, seed=11)
    recorder.prefill(2000)
    recorder.stream(20_000)
    assert 1000 < len(recorder.live) < 4000
