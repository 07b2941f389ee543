"""Gateway benchmark: `fixex bench`.

Starts `fixex serve` as its own process on a free port (state under a temporary
directory), connects one or more order-entry sessions over loopback with a lean
raw-socket FIX 4.4 client, and sends N NewOrderSingles keeping W in flight per
session. Latency is from writing an order to reading its first ExecutionReport.
Flows: `resting` (passive buys that never trade) and `crossing` (each sell
trades against the previous buy).
"""

from __future__ import annotations

import argparse
import os
import platform
import selectors
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from fix_gateway import heap

SOH = b"\x01"
REPO = Path(__file__).resolve().parents[1]
BROKERS = ("BROKER1", "BROKER2")  # FIX 4.4 order-entry sessions in the shipped config
UNTHROTTLED = 1_000_000  # messages per second


_PORTS_GIVEN: set[int] = set()


def free_port() -> int:
    """A port nothing listens on now, and never one this process has given before: the kernel can hand the
    same free port to two probes in a row, and a config needs distinct ones (seen: "market_data.port: 51805 is
    already used by metrics.port")."""
    while True:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        if port not in _PORTS_GIVEN:
            _PORTS_GIVEN.add(port)
            return port


def checksum(data: bytes) -> bytes:
    return b"%03d" % (sum(data) % 256)


def encode(body: bytes) -> bytes:
    head = b"8=FIX.4.4\x019=%d\x01" % len(body)
    return head + body + b"10=" + checksum(head + body) + SOH


def utc_now() -> bytes:
    now = time.time()
    return time.strftime("%Y%m%d-%H:%M:%S", time.gmtime(now)).encode() + b".%03d" % int(now % 1 * 1000)


def _fields(message: bytes) -> dict[bytes, bytes]:
    """tag -> value; the first of a repeated tag."""
    fields: dict[bytes, bytes] = {}
    for pair in message.split(SOH):
        tag, _, value = pair.partition(b"=")
        fields.setdefault(tag, value)
    return fields


class Session:
    """One FIX 4.4 order-entry connection, driven without QuickFIX so the client stays cheap."""

    def __init__(self, comp_id: str, port: int) -> None:
        self.comp_id = comp_id.encode()
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.seq = 1
        self.buffer = b""
        self.sent_at: dict[bytes, int] = {}
        self.in_flight = 0
        self._outgoing: list[bytes] = []
        self._queued: list[bytes] = []

    def send(self, msg_type: bytes, body: bytes) -> None:
        self.sock.sendall(self._message(msg_type, body, utc_now()))

    def _message(self, msg_type: bytes, body: bytes, sending_time: bytes) -> bytes:
        header = b"35=" + msg_type + b"\x0149=" + self.comp_id + b"\x0156=EXCHANGE\x0134=%d\x0152=" % self.seq
        self.seq += 1
        return encode(header + sending_time + SOH + body)

    def logon(self) -> None:
        self.send(b"A", b"98=0\x01108=30\x01141=Y\x01")
        self.sock.settimeout(10)
        while not any(m.get(b"35") == b"A" for m in self.read()):
            pass
        self.sock.setblocking(False)

    def order(self, cl_ord_id: bytes, side: bytes, price: bytes) -> None:
        """One order, sent now."""
        self.queue_order(cl_ord_id, side, price, utc_now())
        self.flush()

    def queue_order(self, cl_ord_id: bytes, side: bytes, price: bytes, sending_time: bytes) -> None:
        """An order to go out with the next flush(): the orders a batch of reports makes room for leave in
        one write, as a broker's engine under load sends them, and the client spends less of the cores
        it shares with the exchange."""
        self.in_flight += 1
        self._queued.append(cl_ord_id)
        self._outgoing.append(self._message(b"D", b"11=" + cl_ord_id + b"\x0155=AAPL\x0154=" + side + b"\x0160="
                                            + sending_time + b"\x0138=100\x0140=2\x0144=" + price + SOH,
                                            sending_time))

    def flush(self) -> None:
        if not self._outgoing:
            return
        data = b"".join(self._outgoing)
        now = time.perf_counter_ns()
        for cl_ord_id in self._queued:
            self.sent_at[cl_ord_id] = now
        self._outgoing.clear()
        self._queued.clear()
        self.sock.sendall(data)

    def read_reports(self) -> list[tuple[bytes, bytes, dict[bytes, bytes] | None]]:
        """(MsgType, ClOrdID, None) per ExecutionReport, read without splitting it into fields; any other
        message as (MsgType, b"", its fields)."""
        buffer, spans = self._receive()
        messages: list[tuple[bytes, bytes, dict[bytes, bytes] | None]] = []
        for start, end in spans:
            kind_at = buffer.find(b"\x0135=", start, end) + 4
            msg_type = buffer[kind_at:buffer.find(SOH, kind_at)]
            if msg_type == b"8":
                id_at = buffer.find(b"\x0111=", start, end)
                cl_ord_id = buffer[id_at + 4:buffer.find(SOH, id_at + 4)] if id_at >= 0 else b""
                messages.append((msg_type, cl_ord_id, None))
            else:
                messages.append((msg_type, b"", _fields(buffer[start:end])))
        return messages

    def read(self) -> list[dict[bytes, bytes]]:
        buffer, spans = self._receive()
        return [_fields(buffer[start:end]) for start, end in spans]

    def _receive(self) -> tuple[bytes, list[tuple[int, int]]]:
        """What has arrived, and where each complete message in it starts and ends (before its checksum);
        a message still arriving is kept for the next call."""
        try:
            data = self.sock.recv(1 << 20)
        except BlockingIOError:
            return b"", []
        if not data:
            raise ConnectionError(f"{self.comp_id.decode()}: the exchange closed the connection")
        buffer = self.buffer + data
        spans = []
        start = 0
        while True:  # walk the buffer once: re-slicing it per message is quadratic in a burst
            end = buffer.find(b"\x0110=", start)
            if end < 0 or len(buffer) < end + 8:
                break
            spans.append((start, end))
            start = end + 8
        self.buffer = buffer[start:]
        return buffer, spans

    def close(self) -> None:
        try:
            self.sock.setblocking(True)
            self.send(b"5", b"")
        finally:
            self.sock.close()


def run(orders: int, in_flight: int, sessions: int, flow: str, port: int) -> dict[str, float]:
    # The venue's collector policy here too: a full pass in the client would be timed as the venue's latency.
    heap.tune_for_trading()
    heap.settle()
    clients = [Session(BROKERS[i % len(BROKERS)], port) for i in range(sessions)]
    for client in clients:
        client.logon()
    selector = selectors.DefaultSelector()
    for client in clients:
        selector.register(client.sock, selectors.EVENT_READ, client)
    latencies: list[int] = []
    per_session = orders // sessions
    sent = [0] * sessions
    acked = 0
    total = per_session * sessions
    cpu_before = time.process_time_ns()
    start = time.perf_counter_ns()

    def top_up(index: int, client: Session) -> None:
        sending_time = utc_now()
        while client.in_flight < in_flight and sent[index] < per_session:
            n = sent[index]
            sent[index] += 1
            cl_ord_id = b"%d-%d" % (index, n)
            if flow == "resting":
                client.queue_order(cl_ord_id, b"1", b"%d.%02d" % (189 - n % 9, n % 100), sending_time)  # in the band
            elif len(clients) == 1:  # crossing within one firm would only exercise self-trade prevention
                raise SystemExit("the crossing flow needs --sessions 2 (two firms that trade with each other)")
            else:  # crossing: the first session's buys and the second's sells meet at 190.00
                client.queue_order(cl_ord_id, b"1" if index == 0 else b"2", b"190.00", sending_time)
        client.flush()

    for index, client in enumerate(clients):
        top_up(index, client)
    while acked < total:
        ready = selector.select(timeout=10)
        if not ready:
            raise RuntimeError(f"no reply from the exchange for 10 s; {total - acked} orders unanswered")
        for key, _ in ready:
            client: Session = key.data
            for msg_type, cl_ord_id, fields in client.read_reports():
                if fields is not None:
                    if msg_type == b"1":  # TestRequest: answer so the session stays up
                        client.send(b"0", b"112=" + fields[b"112"] + SOH)
                    elif msg_type in (b"j", b"3", b"5"):  # refused: the run would measure nothing
                        raise RuntimeError(f"the exchange refused a message: {fields.get(b'58', b'').decode()}")
                    continue
                sent_at = client.sent_at.pop(cl_ord_id, None)
                if sent_at is None:
                    continue  # a later report (a fill) of an order already counted
                latencies.append(time.perf_counter_ns() - sent_at)
                client.in_flight -= 1
                acked += 1
            top_up(clients.index(client), client)
    elapsed = time.perf_counter_ns() - start
    client_cpu_ns = time.process_time_ns() - cpu_before
    for client in clients:
        client.close()
    latencies.sort()

    def pct(q: float) -> float:
        return latencies[min(len(latencies) - 1, int(q * len(latencies)))] / 1000

    return {"orders_per_s": total / (elapsed / 1e9), "p50_us": pct(0.5), "p99_us": pct(0.99),
            "p999_us": pct(0.999), "orders": total, "client_cpu_us": client_cpu_ns / total / 1000}


def start_exchange(work: Path, port: int, config: Path | None, log_level: str = "WARNING",
                   audit: bool = True, risk: bool = True, market_data_port: int | None = None,
                   market_data: bool = True) -> subprocess.Popen:
    path = _bench_config(work, port, config, market_data_port)
    process = subprocess.Popen(
        [sys.executable, "-c", "from fix_gateway.cli import main; raise SystemExit(main())", "serve",
         "--config", str(path), "--log-level", log_level, *([] if audit else ["--no-audit"]),
         *([] if risk else ["--no-risk"]), *([] if market_data else ["--no-market-data"])],
        cwd=work, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    return _wait_listening(process, port, "fixex serve")


def _bench_config(work: Path, port: int, config: Path | None, market_data_port: int | None = None) -> Path:
    source = (config or REPO / "config" / "exchange.yaml").read_text()
    path = work / "exchange.yaml"
    # A benchmark measures capacity: the per-session message throttles would refuse most of its orders.
    path.write_text(source.replace("port: 9876", f"port: {port}").replace("port: 9877", f"port: {free_port()}")
                    .replace("port: 9878", f"port: {market_data_port or free_port()}")
                    .replace("sessions_file: sessions.cfg", f"sessions_file: {REPO / 'sessions.cfg'}")
                    .replace("max_messages_per_second: 20000", f"max_messages_per_second: {UNTHROTTLED}")
                    .replace("logout_messages_per_second: 50000", f"logout_messages_per_second: {UNTHROTTLED}"))
    return path


def _wait_listening(process: subprocess.Popen, port: int, name: str) -> subprocess.Popen:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return process
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited: {process.stdout.read().decode()}")
        time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"{name} did not start listening within 60 s")


def start_reference(work: Path, port: int, config: Path | None, persistence: str) -> subprocess.Popen:
    """QuickFIX alone (fix_gateway.reference_acceptor) on the same config and sessions, in its own process."""
    path = _bench_config(work, port, config)
    process = subprocess.Popen(
        [sys.executable, "-m", "fix_gateway.reference_acceptor", "--config", str(path), "--persistence", persistence],
        cwd=work, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    return _wait_listening(process, port, "the reference acceptor")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if "--loader" in argv:
        from reporting import load_bench

        return load_bench.main([a for a in argv if a != "--loader"])
    if "--exports" in argv:
        from reporting import export_bench

        return export_bench.main([a for a in argv if a != "--exports"])
    if "--market-data" in argv:
        from fix_gateway import md_bench

        return md_bench.main([a for a in argv if a != "--market-data"])
    parser = argparse.ArgumentParser(prog="fixex bench", description=__doc__.splitlines()[0],
                                     epilog="--market-data runs the market-data benchmark instead "
                                            "(fixex bench -- --market-data --help); --loader the audit "
                                            "pipeline's, --exports the compliance exports' (each takes "
                                            "--help)")
    parser.add_argument("--orders", type=int, default=20_000, help="orders per run (default %(default)s)")
    parser.add_argument("--in-flight", default="64,1", help="orders in flight per session, comma-separated runs")
    parser.add_argument("--sessions", type=int, default=1, choices=[1, 2])
    parser.add_argument("--flow", default="resting", choices=["resting", "crossing"],
                        help="resting: passive buys; crossing (needs --sessions 2): buys and sells that trade")
    parser.add_argument("--config", type=Path, help="YAML config for the exchange (default: the shipped one)")
    parser.add_argument("--audit", default="on", choices=["on", "off", "both"],
                        help="input journal and auditor on, off (--no-audit), or both, alternating (default on); "
                             "with both, neither run starts the market-data process, which needs the journal, "
                             "so that the two differ by the audit trail alone")
    parser.add_argument("--risk", default="on", choices=["on", "off", "both"],
                        help="pre-trade risk and circuit breakers on, off (--no-risk), or both (default on)")
    parser.add_argument("--reference", choices=["file", "memory", "both"],
                        help="also run QuickFIX alone (fix_gateway.reference_acceptor: every order acknowledged at "
                             "once, nothing behind it) before the venue at each window: with its FileStore and "
                             "FileLog as the venue (file), with a MemoryStore and no log (memory), or both; the "
                             "venue's orders/s is then also printed as a fraction of it")
    parser.add_argument("--repeat", type=int, default=1, help="run the whole set this many times, alternating")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error(f"--repeat must be at least 1, not {args.repeat}")
    if args.flow == "crossing" and args.reference:
        parser.error("--reference acknowledges orders without matching them: use it with --flow resting")
    print(f"gateway benchmark: python {platform.python_version()}, {platform.machine()}, "
          f"{os.cpu_count()} cpus; {args.orders:,} orders, {args.sessions} session(s), {args.flow} flow")
    if args.audit == "both":
        print("audit on versus off: the market-data process (market data, drop copies) runs in neither")
    print(f"{'acceptor':>9} {'in flight':>9} {'audit':>5} {'risk':>5} {'orders/s':>10} {'of ref':>6} {'p50 µs':>8} "
          f"{'p99 µs':>8} {'p99.9 µs':>9} {'client µs':>9}")
    both = {"on": [True], "off": [False], "both": [False, True]}
    references = {None: [], "file": ["file"], "memory": ["memory"], "both": ["file", "memory"]}[args.reference]
    runs = [(int(w), acceptor, audit, risk) for _ in range(args.repeat) for w in args.in_flight.split(",")
            for acceptor, audit, risk in [*((r, None, None) for r in references),
                                          *(("venue", a, r) for a in both[args.audit] for r in both[args.risk])]]
    reference_rate: dict[int, float] = {}  # the last reference run's orders/s at each window
    for window, acceptor, audit, risk in runs:
        with tempfile.TemporaryDirectory(prefix="fixex-bench-") as work:
            port = free_port()
            if acceptor == "venue":
                exchange = start_exchange(Path(work), port, args.config, audit=audit, risk=risk,
                                          market_data=args.audit != "both")
            else:
                exchange = start_reference(Path(work), port, args.config, acceptor)
            try:
                orders = args.orders if window > 1 else min(args.orders, 5_000)
                result = run(orders, window, args.sessions, args.flow, port)
            finally:
                exchange.terminate()
                exchange.wait(timeout=300)  # with audit on, serve waits for the auditor to load everything
        rate = result["orders_per_s"]
        if acceptor == "file":
            reference_rate[window] = rate
        label = {"venue": "venue", "file": "quickfix", "memory": "qf-memory"}[acceptor]
        share = f"{rate / reference_rate[window]:.2f}" if acceptor == "venue" and window in reference_rate else "-"
        print(f"{label:>9} {window:>9} {'-' if audit is None else 'on' if audit else 'off':>5} "
              f"{'-' if risk is None else 'on' if risk else 'off':>5} {rate:>10,.0f} {share:>6} "
              f"{result['p50_us']:>8.0f} {result['p99_us']:>8.0f} {result['p999_us']:>9.0f} "
              f"{result['client_cpu_us']:>9.1f}   ({result['orders']:,} orders)")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
