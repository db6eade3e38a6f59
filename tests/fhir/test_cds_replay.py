"""Replay protection of the CDS Hooks JWT across app instances sharing one database.

Each ``create_app`` below stands for a uvicorn worker process (or a host): it opens its
own store on the database the test shares between them. A token accepted by one is a
replay for every other one, also after a restart, and of many simultaneous submissions
of one token exactly one is accepted. The refusal is the service's usual 401.
SQLite always; PostgreSQL when ``LOCOREG_TEST_POSTGRESQL_URL`` is set.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import text

from locoreg.store import AuditStore
from locoreg.web.app import create_app
from locoreg.web.cds import router
from locoreg.web.settings import Settings

ISS = "https://ehr.example.org"
BASE = "http://testserver"  # the address the test server was "started on"
SERVICE = "/cds-services/locoreg-primary-tumour"
FEEDBACK = f"{SERVICE}/feedback"
REPLAY = {
    "detail": [{"field": "Authorization", "message": "JWT jti has been used before (replay)"}]
}


class Workers:
    """App instances on the shared database (JWT check on, the es384 signer trusted)."""

    def __init__(self, database: str, es384: Any):
        self.database = database
        self.env = {
            "LOCOREG_CDS_JWT": "on",
            "LOCOREG_CDS_ISSUERS": json.dumps({ISS: {"jwks": {"keys": [es384.jwk]}}}),
        }
        self.running: list[tuple[TestClient, AuditStore]] = []

    def start(self) -> TestClient:
        store = AuditStore(self.database)
        settings = Settings.from_env(self.env, database_url=self.database, listen_url=BASE)
        app = create_app(settings, store)
        client = TestClient(app, raise_server_exceptions=False)
        client.__enter__()
        self.running.append((client, store))
        return client

    def stop(self, client: TestClient) -> None:
        for item in [r for r in self.running if r[0] is client]:
            self.running.remove(item)
            item[0].__exit__(None, None, None)
            item[1].close()


@pytest.fixture
def workers(database: str, es384: Any) -> Iterator[Workers]:
    started = Workers(database, es384)
    yield started
    for client, _ in list(started.running):
        started.stop(client)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def assert_replay(response: httpx.Response) -> None:
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Bearer error="invalid_token"'
    assert response.json() == REPLAY


@pytest.fixture
def hook_body(
    load_example: Callable[[str], dict[str, Any]], make_hook_request: Callable[..., dict[str, Any]]
) -> dict[str, Any]:
    return make_hook_request(load_example("discuss_local_therapy"))


def test_replay_to_another_worker_is_refused(
    workers: Workers, es384: Any, hook_body: dict[str, Any]
) -> None:
    worker_a, worker_b = workers.start(), workers.start()
    token = es384.token()
    assert worker_a.post(SERVICE, json=hook_body, headers=bearer(token)).status_code == 200
    # The same answer as a replay to the worker that accepted it.
    assert_replay(worker_b.post(SERVICE, json=hook_body, headers=bearer(token)))
    assert_replay(worker_a.post(SERVICE, json=hook_body, headers=bearer(token)))
    # ... and on the feedback endpoint, which shares the guard.
    feedback = {"feedback": [{"card": "c", "outcome": "accepted", "outcomeTimestamp": "t"}]}
    assert_replay(worker_b.post(FEEDBACK, json=feedback, headers=bearer(token)))
    # Other tokens go through either worker.
    assert worker_b.post(SERVICE, json=hook_body, headers=bearer(es384.token())).status_code == 200


def test_replay_after_a_restart_is_refused(
    workers: Workers, es384: Any, hook_body: dict[str, Any]
) -> None:
    token = es384.token()
    first = workers.start()
    assert first.post(SERVICE, json=hook_body, headers=bearer(token)).status_code == 200
    workers.stop(first)  # the only instance goes: nothing of it stays in this process
    assert_replay(workers.start().post(SERVICE, json=hook_body, headers=bearer(token)))


def test_concurrent_submissions_of_one_token_accept_exactly_one(
    workers: Workers, es384: Any, hook_body: dict[str, Any]
) -> None:
    instances = [workers.start(), workers.start()]
    token = es384.token()
    threads = 8
    barrier = threading.Barrier(threads)

    def submit(i: int) -> httpx.Response:
        barrier.wait()
        return instances[i % 2].post(SERVICE, json=hook_body, headers=bearer(token))

    with ThreadPoolExecutor(threads) as pool:
        responses = list(pool.map(submit, range(threads)))
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] + [401] * (threads - 1), [r.text for r in responses]
    for response in responses:
        if response.status_code == 401:
            assert_replay(response)


def test_token_without_exp_is_refused_and_not_recorded(
    workers: Workers, es384: Any, hook_body: dict[str, Any], database: str
) -> None:
    worker = workers.start()
    response = worker.post(SERVICE, json=hook_body, headers=bearer(es384.token(drop=("exp",))))
    assert response.status_code == 401
    assert response.json() == {
        "detail": [{"field": "Authorization", "message": "JWT is missing the required claim 'exp'"}]
    }
    store = AuditStore(database)
    try:
        assert store.seen_jti.count() == 0
    finally:
        store.close()


def test_jti_longer_than_the_guard_holds_is_refused(
    workers: Workers, es384: Any, hook_body: dict[str, Any]
) -> None:
    response = workers.start().post(
        SERVICE, json=hook_body, headers=bearer(es384.token(jti="j" * 257))
    )
    assert response.status_code == 401
    assert response.json()["detail"][0]["message"] == "JWT jti is longer than 256 characters"


def test_without_a_store_the_jwt_check_cannot_run(
    make_hook_request: Callable[..., dict[str, Any]], es384: Any
) -> None:
    app = FastAPI()  # the router alone: no store, no verifier
    app.include_router(router)
    app.state.settings = Settings.from_env(
        {"LOCOREG_CDS_JWT": "on", "LOCOREG_CDS_ISSUERS": json.dumps({ISS: {"keys": [es384.jwk]}})},
        database_url="sqlite://",
    )
    with TestClient(app) as client:
        response = client.post(SERVICE, json=make_hook_request(None), headers=bearer(es384.token()))
    assert response.status_code == 503
    assert response.json()["detail"][0]["message"] == (
        "requests cannot be authenticated: no audit store"
    )


def test_an_unwritable_replay_table_fails_closed(
    workers: Workers, es384: Any, hook_body: dict[str, Any]
) -> None:
    worker = workers.start()
    store: AuditStore = worker.app.state.store  # type: ignore[attr-defined]
    with store.engine.begin() as conn:
        conn.execute(text("DROP TABLE seen_jti"))
    response = worker.post(SERVICE, json=hook_body, headers=bearer(es384.token()))
    assert response.status_code == 500
    assert store.count_assessments() == 0  # nothing was assessed on an unchecked token
