"""The benchmark harness imports and its arithmetic is right, on made-up numbers.

Nothing here is timed: the figures themselves come only from `make bench` (BENCHMARKS.md).
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Any

import pytest

from bench import report
from bench.loadgen import Plan, encode_request
from bench.report import END_MARKER, START_MARKER, Figure, Report, Target
from tests.conftest import requires_postgres


def test_it_imports_every_harness_module() -> None:
    for name in (
        "bench.run",
        "bench.loadgen",
        "bench.report",
        "bench.seed",
        "bench.urls",
        "bench.steps",
    ):
        assert importlib.import_module(name)


def test_it_interpolates_percentiles() -> None:
    ordered = [float(n) for n in range(1, 101)]
    assert report.percentile(ordered, 50) == pytest.approx(50.5)
    assert report.percentile(ordered, 95) == pytest.approx(95.05)
    assert report.percentile([7.0], 95) == 7.0
    with pytest.raises(ValueError):
        report.percentile([], 50)


def test_it_divides_by_the_baseline_and_refuses_a_missing_one() -> None:
    assert report.ratio(400.0, 1000.0) == pytest.approx(0.4)
    assert report.ratio(400.0, 0.0) is None
    assert report.ratio(None, 1000.0) is None


def test_it_judges_targets_in_both_directions() -> None:
    assert Target(">=", 0.5).met(0.5) is True
    assert Target(">=", 0.5).met(0.49) is False
    assert Target("<=", 1.5).met(1.6) is False
    assert Target("<", 2.0).met(1.99) is True
    assert Target("<", 2.0).met(None) is None
    assert str(Target("<=", 50.0, " MB")) == "≤ 50 MB"


def test_it_renders_a_row_per_figure_with_its_verdict() -> None:
    figures = [
        Figure(
            name="intake",
            measured="250 req/s",
            baseline="hello 1,000 req/s",
            value=0.25,
            target=Target(">=", 0.5),
        ),
        Figure(
            name="queries",
            measured="9 / 9",
            value_text="constant",
            target_text="constant",
            met_override=True,
        ),
        Figure(name="lag median", measured="30.0 ms"),
    ]
    text = report.render_results(
        Report(
            figures=figures,
            machine={"cores": "2", "PostgreSQL": "15.20"},
            date="2026-11-24 07:00 UTC",
            command="make bench",
            mode="quick",
            skipped=["sweep: not built yet"],
        )
    )
    assert "| intake | 250 req/s | hello 1,000 req/s | 0.25 | ≥ 0.5 | **no** |" in text
    assert "| queries | 9 / 9 | — | constant | constant | yes |" in text
    assert "| lag median | 30.0 ms | — | n/a | — | — |" in text
    assert "cores: 2; PostgreSQL: 15.20" in text
    assert "`make bench`" in text
    assert "- sweep: not built yet" in text


def test_it_rewrites_only_the_generated_section(tmp_path: Path) -> None:
    path = tmp_path / "BENCHMARKS.md"
    report.write_benchmarks(path, "first table")
    notes = "\n## Profile notes\n\nThe inbox spends its time in template rendering.\n"
    path.write_text(path.read_text().split("## Profile notes")[0] + notes.lstrip("\n"))

    report.write_benchmarks(path, "second table")

    text = path.read_text()
    assert "second table" in text and "first table" not in text
    assert "The inbox spends its time in template rendering." in text
    assert text.count(START_MARKER) == 1 and text.count(END_MARKER) == 1


def test_it_keeps_a_hand_written_file_without_markers(tmp_path: Path) -> None:
    path = tmp_path / "BENCHMARKS.md"
    path.write_text("Notes written before the harness existed.\n")
    report.write_benchmarks(path, "the table")
    text = path.read_text()
    assert "the table" in text and "Notes written before the harness existed." in text


def test_the_load_generator_writes_plain_http_requests() -> None:
    plan = Plan({"base_url": "http://127.0.0.1:8123", "items": [{"path": "/x"}]})
    raw = encode_request(
        plan, {"method": "POST", "path": "/api", "headers": {"A": "b"}}, '{"n": 1}'
    )
    head, body = raw.split(b"\r\n\r\n", 1)
    assert head.startswith(b"POST /api HTTP/1.1\r\nHost: 127.0.0.1:8123\r\nConnection: close")
    assert b"Content-Length: 8" in head and b"A: b" in head
    assert body == b'{"n": 1}'


def test_the_bench_database_is_named_after_the_developers_own(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from bench.run import bench_db_name

    monkeypatch.delenv("BENCH_DB_NAME", raising=False)
    assert bench_db_name("postgres://u@127.0.0.1:5432/checkpoint_wt7") == "checkpoint_wt7_bench"
    assert bench_db_name("postgres://u@127.0.0.1:5432/my_bench") == "my_bench"
    assert bench_db_name("postgres://u@127.0.0.1:5432/postgres") == "checkpoint_bench"
    assert bench_db_name(None) == "checkpoint_bench"
    monkeypatch.setenv("BENCH_DB_NAME", "other_bench")
    assert bench_db_name("postgres://u@127.0.0.1:5432/checkpoint_wt7") == "other_bench"
    monkeypatch.setenv("BENCH_DB_NAME", "drop table; bench")
    with pytest.raises(SystemExit):
        bench_db_name(None)


@requires_postgres
@pytest.mark.django_db
def test_the_durable_write_baseline_commits_three_rows_per_request() -> None:
    from django.db import connection
    from django.test import RequestFactory

    from bench.urls import DURABLE_PATH, create_durable_tables, durable

    create_durable_tables()  # rolled back with the test's transaction
    factory = RequestFactory()
    body = json.dumps({"external_id": "x-1", "title": "Refund", "payload": {"amount": 120}})
    response = durable(factory.post(DURABLE_PATH, body, content_type="application/json"))
    assert response.status_code == 201
    request_id = json.loads(response.content)["id"]
    bad = durable(factory.post(DURABLE_PATH, "{not json", content_type="application/json"))
    assert bad.status_code == 400
    assert durable(factory.get(DURABLE_PATH)).status_code == 405
    with connection.cursor() as cursor:
        counts = []
        for table, key in (
            ("bench_request", "id"),
            ("bench_audit", "request_id"),
            ("bench_outbox", "request_id"),
        ):
            cursor.execute(f"SELECT count(*), min({key}::text) FROM {table}")
            counts.append(cursor.fetchone())
    assert counts == [(1, request_id)] * 3


@pytest.mark.django_db
def test_the_signed_in_floor_reads_the_session_and_user_and_nothing_else(
    reviewer: Any, settings: Any, django_assert_num_queries: Any
) -> None:
    """/bench/signed-in is hello-world behind login_required: an anonymous caller goes to the
    login page, a signed-in one gets its name after the session and the user are read."""
    from django.test import Client

    from bench.run import SIGNED_IN_PATH
    from bench.urls import SIGNED_IN_PATH as ROUTE

    settings.ROOT_URLCONF = "bench.urls"
    assert SIGNED_IN_PATH == ROUTE
    anonymous = Client().get(SIGNED_IN_PATH)
    assert anonymous.status_code == 302 and "/accounts/login/" in anonymous["Location"]
    client = Client()
    client.force_login(reviewer)
    with django_assert_num_queries(2):  # the session, the user
        response = client.get(SIGNED_IN_PATH)
    assert response.status_code == 200 and response.json() == {"hello": "alice"}
