"""docker-compose.yml, its config, Prometheus and Grafana files, the Dockerfile's command (no container engine here)."""

from __future__ import annotations

import dataclasses
import json
import re
import tomllib
from pathlib import Path

import yaml
from sqlalchemy.engine import make_url

from config import load_settings

REPO = Path(__file__).resolve().parents[3]
# The metrics the exchange exports (fix_gateway metrics), as the dashboard may use them.
METRICS = {
    "fixex_orders_received_total", "fixex_orders_accepted_total", "fixex_orders_rejected_total",
    "fixex_executions_total", "fixex_traded_volume_total", "fixex_message_latency_seconds",
    "fixex_sessions_logged_on", "fixex_book_best_bid", "fixex_book_best_ask", "fixex_book_spread",
    "fixex_book_depth", "fixex_instrument_halted", "fixex_halts_total", "fixex_throttle_hits_total",
    "fixex_queue_depth",
}
HISTOGRAM_SUFFIXES = ("_bucket", "_sum", "_count")


def load_yaml(relative: str):
    return yaml.safe_load((REPO / relative).read_text())


def compose() -> dict:
    return load_yaml("docker-compose.yml")


def test_compose_has_the_exchange_postgres_prometheus_and_grafana():
    assert set(compose()["services"]) == {"exchange", "postgres", "prometheus", "grafana"}


def test_exchange_service_builds_this_repo_publishes_fix_and_metrics_and_serves_the_mounted_compose_config():
    exchange = compose()["services"]["exchange"]
    assert exchange["build"] == "."
    assert {"9876:9876", "9877:9877"} <= set(exchange["ports"])
    assert exchange["command"] == ["serve", "--config", "/app/config/compose.yaml"]
    assert "./config/compose.yaml:/app/config/compose.yaml:ro" in exchange["volumes"]
    assert any(v.endswith(":/app/var") for v in exchange["volumes"])  # journal and logs survive restarts
    assert exchange["depends_on"]["postgres"]["condition"] == "service_healthy"


def test_every_bind_mounted_file_exists_and_named_volumes_are_declared():
    spec = compose()
    for name, service in spec["services"].items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("./"):
                assert (REPO / source).exists(), f"{name} mounts missing {source}"
            else:
                assert source in spec["volumes"], f"{name} uses undeclared volume {source}"


def test_compose_config_is_the_shipped_config_with_only_hosts_and_database_changed():
    compose_settings = load_settings(REPO / "config" / "compose.yaml")
    shipped = load_settings(REPO / "config" / "exchange.yaml")
    assert compose_settings.fix.host == compose_settings.metrics.host == "0.0.0.0"
    url = make_url(compose_settings.database.url)
    postgres = compose()["services"]["postgres"]
    assert postgres["image"] == "postgres:16"
    env = postgres["environment"]
    assert (url.drivername, url.host) == ("postgresql+psycopg", "postgres")  # the compose service
    assert (url.username, url.password, url.database) == (env["POSTGRES_USER"], env["POSTGRES_PASSWORD"],
                                                          env["POSTGRES_DB"])
    assert dataclasses.replace(
        compose_settings, source=shipped.source, database=shipped.database,
        fix=dataclasses.replace(compose_settings.fix, host=shipped.fix.host),
        metrics=dataclasses.replace(compose_settings.metrics, host=shipped.metrics.host)) == shipped


def test_prometheus_scrapes_the_exchange_metrics_port():
    services = compose()["services"]
    assert services["prometheus"]["image"] == "prom/prometheus"
    assert "./deploy/prometheus/prometheus.yml:/etc/prometheus/prometheus.yml:ro" in services["prometheus"]["volumes"]
    port = load_settings(REPO / "config" / "compose.yaml").metrics.port
    targets = [t for job in load_yaml("deploy/prometheus/prometheus.yml")["scrape_configs"]
               for static in job["static_configs"] for t in static["targets"]]
    assert targets == [f"exchange:{port}"]


def test_grafana_is_provisioned_with_the_prometheus_datasource_and_the_dashboard_folder():
    grafana = compose()["services"]["grafana"]
    assert grafana["image"] == "grafana/grafana" and "3000:3000" in grafana["ports"]
    assert grafana["environment"]["GF_SECURITY_ADMIN_PASSWORD"] == "admin"
    mounts = dict(v.split(":")[:2] for v in grafana["volumes"] if v.startswith("./"))
    assert mounts["./deploy/grafana/provisioning"] == "/etc/grafana/provisioning"
    datasource, = load_yaml("deploy/grafana/provisioning/datasources/prometheus.yml")["datasources"]
    assert (datasource["type"], datasource["url"], datasource["uid"]) == ("prometheus", "http://prometheus:9090",
                                                                          "prometheus")
    provider, = load_yaml("deploy/grafana/provisioning/dashboards/fixex.yml")["providers"]
    assert provider["options"]["path"] == mounts["./deploy/grafana/dashboards"]


def test_dashboard_uses_only_exported_metric_names_and_every_one_of_them():
    dashboard = json.loads((REPO / "deploy" / "grafana" / "dashboards" / "fixex.json").read_text())
    expressions = [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]
    used = set()
    for expression in expressions:
        for name in re.findall(r"\bfixex_[a-z_]+", expression):
            for suffix in HISTOGRAM_SUFFIXES:
                if name.endswith(suffix) and name[: -len(suffix)] in METRICS:
                    name = name[: -len(suffix)]
            used.add(name)
    assert used - METRICS == set(), f"unknown metrics in the dashboard: {used - METRICS}"
    assert used == METRICS
    assert any("histogram_quantile(0.99" in e and "fixex_message_latency_seconds_bucket" in e for e in expressions)
    assert {p["datasource"]["uid"] for p in dashboard["panels"]} == {"prometheus"}
    assert len({p["id"] for p in dashboard["panels"]}) == len(dashboard["panels"])


def test_dockerfile_runs_fixex_serve_and_exposes_the_ports():
    text = (REPO / "Dockerfile").read_text()
    instructions = {}
    for line in text.splitlines():
        word, _, rest = line.partition(" ")
        if word in ("ENTRYPOINT", "CMD", "EXPOSE"):
            instructions[word] = rest.strip()  # the last one counts
    command = json.loads(instructions["ENTRYPOINT"]) + json.loads(instructions["CMD"])
    assert command[:2] == ["fixex", "serve"]
    assert {"9876", "9877"} <= set(instructions["EXPOSE"].split())


def test_the_dockerfile_build_stage_copies_everything_the_package_build_reads():
    text = (REPO / "Dockerfile").read_text()
    copied = set()
    for line in text.split("FROM ")[1].splitlines():  # the build stage
        if line.startswith("COPY ") and "--from" not in line:
            copied.update(line.split()[1:-1])
    packages = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    assert {"pyproject.toml", "setup.py", "README.md", *packages} <= copied
