"""Health, readiness, request ids, structured logs and metrics, through the real app."""

import json
import logging
from pathlib import Path

import httpx
import pytest

from app.config import Settings
from app.main import create_app
from app.observability import configure_logging
from tests.helpers import API, make_case


class Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def access_log():
    configure_logging()
    json_handler = next(h for h in logging.getLogger().handlers if h.name == "casetrack-json")
    collector = Collect()
    collector.setFormatter(json_handler.formatter)
    for f in json_handler.filters:
        collector.addFilter(f)
    logger = logging.getLogger("casetrack.access")
    logger.addHandler(collector)
    yield collector
    logger.removeHandler(collector)


async def test_healthz_answers_without_a_token(anonymous) -> None:
    response = await anonymous.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_reports_the_schema_revision(anonymous) -> None:
    response = await anonymous.get("/readyz")
    assert response.status_code == 200
    assert response.json()["status"] == "ready"
    assert len(response.json()["schema"]) == 12


async def test_readyz_is_503_when_the_schema_is_not_migrated(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'empty.db'}", auto_migrate=False)
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        response = await http.get("/readyz")
        health = await http.get("/healthz")
    await app.state.engine.dispose()
    assert response.status_code == 503
    assert response.headers["content-type"].startswith("application/problem+json")
    assert health.status_code == 200


async def test_request_id_is_echoed_or_made(anonymous) -> None:
    given = await anonymous.get(f"{API}/cases", headers={"X-Request-ID": "trace-42.a"})
    assert given.headers["x-request-id"] == "trace-42.a"
    made = await anonymous.get(f"{API}/cases")
    assert len(made.headers["x-request-id"]) >= 16
    assert made.headers["x-request-id"] != given.headers["x-request-id"]
    refused = await anonymous.get(f"{API}/cases", headers={"X-Request-ID": "bad id\twith spaces"})
    assert refused.headers["x-request-id"] != "bad id\twith spaces"


async def test_one_json_log_line_per_request_without_token_or_body(client, access_log) -> None:
    token = client.headers["authorization"].removeprefix("Bearer ")
    case = await make_case(client, title="Secret body text 7d1f")
    await client.get(f"{API}/cases/{case['id']}/timeline", headers={"X-Request-ID": "req-timeline-1"})
    lines = [json.loads(access_log.format(r)) for r in access_log.records]
    timeline = [line for line in lines if line["request_id"] == "req-timeline-1"]
    assert len(timeline) == 1
    entry = timeline[0]
    assert entry["method"] == "GET"
    assert entry["route"] == "/api/v1/cases/{case_id}/timeline"
    assert entry["status"] == 200
    assert entry["duration_ms"] >= 0
    everything = "\n".join(access_log.format(r) for r in access_log.records)
    assert token not in everything
    assert "Secret body text 7d1f" not in everything
    assert case["id"] not in everything  # path templates, not raw ids


def _sample(metrics: str, name: str) -> float:
    """The value of one sample in a Prometheus text exposition (0 when it is not there yet)."""
    for line in metrics.splitlines():
        if line.startswith(name + " "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


async def test_metrics_count_requests_per_route_and_status(client) -> None:
    ok = 'casetrack_http_requests_total{method="GET",route="/api/v1/cases/{case_id}",status="200"}'
    missing = 'casetrack_http_requests_total{method="GET",route="/api/v1/cases/{case_id}",status="404"}'
    # The app may have served other tests already: its counters move by exactly these requests.
    before = (await client.get("/metrics")).text
    case = await make_case(client)
    await client.get(f"{API}/cases/{case['id']}")
    await client.get(f"{API}/cases/{case['id']}")
    await client.get(f"{API}/cases/nope")
    text = (await client.get("/metrics")).text
    assert _sample(text, ok) - _sample(before, ok) == 2
    assert _sample(text, missing) - _sample(before, missing) == 1
    assert "casetrack_http_request_duration_seconds_bucket" in text
    assert "casetrack_db_pool_connections_in_use" in text
