"""CDS Hooks security (issue 11, points 5, 6 and 7): the JWT audience, the token's lifetime,
where the EHR's FHIR access token may go, and one deadline for all FHIR reads.

The FHIR servers here are real HTTP servers on 127.0.0.1 (threads of this process), so
that timeouts, encodings and ``next`` links go through the same client code as in use.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from locoreg.cli import app as cli_app
from locoreg.fhir import fetch
from locoreg.store import AuditStore
from locoreg.web.app import create_app
from locoreg.web.settings import CdsSettings, Settings, bound_url

SERVICE = "/cds-services/locoreg-primary-tumour"
ISS = "https://ehr.example.org"


# --- 5. the JWT audience never comes from the request --------------------------------------


@pytest.fixture
def issuers(es384: Any) -> dict[str, str]:
    return {"LOCOREG_CDS_ISSUERS": json.dumps({ISS: {"jwks": {"keys": [es384.jwk]}}})}


@pytest.fixture
def started(tmp_path: Path) -> Iterator[Callable[..., TestClient]]:
    """An app as ``locoreg serve`` builds it, on a SQLite store of this test's own."""
    clients: list[tuple[TestClient, AuditStore]] = []

    def start(env: dict[str, str], listen: str | None) -> TestClient:
        url = f"sqlite:///{tmp_path / f'audit{len(clients)}.sqlite'}"
        store = AuditStore(url)
        settings = Settings.from_env(env, database_url=url, listen_url=listen)
        client = TestClient(create_app(settings, store))
        clients.append((client, store))
        return client

    yield start
    for client, store in clients:
        client.close()
        store.close()


def post(client: TestClient, body: dict[str, Any], token: str, **headers: str) -> httpx.Response:
    return client.post(SERVICE, json=body, headers={"Authorization": f"Bearer {token}", **headers})


def test_a_token_for_another_instance_is_refused_whatever_the_host_header(
    started: Callable[..., TestClient],
    issuers: dict[str, str],
    es384: Any,
    make_hook_request: Callable[..., dict[str, Any]],
    load_example: Callable[[str], dict[str, Any]],
) -> None:
    # The forged Host passes the trusted-host check here (as behind a proxy that forwards
    # any Host: LOCOREG_ALLOWED_HOSTS=*), so that the JWT audience is what refuses it.
    client = started({**issuers, "LOCOREG_ALLOWED_HOSTS": "*"}, "http://127.0.0.1:8000")
    body = make_hook_request(load_example("workup_her2_unknown"))
    other = "https://locoreg-b.hospital.example.org"
    forged = [
        {"Host": "locoreg-b.hospital.example.org"},
        {"X-Forwarded-Host": "locoreg-b.hospital.example.org", "X-Forwarded-Proto": "https"},
        {"Host": "locoreg-b.hospital.example.org", "X-Forwarded-Proto": "https"},
    ]
    for headers in forged:
        refused = post(client, body, es384.token(aud=f"{other}{SERVICE}"), **headers)
        assert refused.status_code == 401, headers
        assert refused.json()["detail"][0]["message"] == "JWT aud does not match this service's URL"
    # The address the server was started on is the audience, whatever Host the call names.
    own = es384.token(aud=f"http://127.0.0.1:8000{SERVICE}")
    assert post(client, body, own, Host="locoreg-b.hospital.example.org").status_code == 200


def test_public_url_overrides_the_start_address(
    started: Callable[..., TestClient],
    issuers: dict[str, str],
    es384: Any,
    make_hook_request: Callable[..., dict[str, Any]],
) -> None:
    public = "https://locoreg.hospital.example.org"
    client = started({**issuers, "LOCOREG_PUBLIC_URL": public}, "http://127.0.0.1:8000")
    body = make_hook_request(None)
    internal = es384.token(aud=f"http://127.0.0.1:8000{SERVICE}")
    assert post(client, body, internal).status_code == 401
    # 412: authenticated, then no prefetch and no fhirServer.
    assert post(client, body, es384.token(aud=f"{public}{SERVICE}")).status_code == 412


def test_without_a_known_address_every_token_is_refused(
    started: Callable[..., TestClient],
    issuers: dict[str, str],
    es384: Any,
    make_hook_request: Callable[..., dict[str, Any]],
) -> None:
    """Bound to every interface (or built outside ``serve``) and no LOCOREG_PUBLIC_URL."""
    client = started(issuers, bound_url("0.0.0.0", 8000))
    refused = post(client, make_hook_request(None), es384.token(), Host="testserver")
    assert refused.status_code == 401
    assert "LOCOREG_PUBLIC_URL" in refused.json()["detail"][0]["message"]


@pytest.mark.parametrize(
    ("host", "port", "url"),
    [
        ("127.0.0.1", 8000, "http://127.0.0.1:8000"),
        ("::1", 9000, "http://[::1]:9000"),
        ("locoreg.internal", 80, "http://locoreg.internal:80"),
        ("0.0.0.0", 8000, None),
        ("::", 8000, None),
    ],
)
def test_bound_url(host: str, port: int, url: str | None) -> None:
    assert bound_url(host, port) == url


def test_serve_passes_its_address_to_the_app(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, issuers: dict[str, str], es384: Any
) -> None:
    import uvicorn

    captured: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: captured.update(app=app, **kw))
    for key, value in issuers.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("LOCOREG_PUBLIC_URL", raising=False)
    monkeypatch.setenv("LOCOREG_LISTEN_URL", "http://stale.example:1")  # restored after
    database = f"sqlite:///{tmp_path / 'audit.sqlite'}"
    args = ["serve", "--host", "127.0.0.2", "--port", "8123", "--database", database]
    result = CliRunner().invoke(cli_app, args)
    assert result.exit_code == 0, result.output
    app = captured["app"]
    try:
        assert app.state.settings.cds.public_url == "http://127.0.0.2:8123"
        # A worker process building its settings from the environment knows it too.
        assert Settings.from_env(database_url=database).cds.public_url == "http://127.0.0.2:8123"
    finally:
        app.state.store.close()
    # Bound to every interface: no own address, whatever an earlier run exported.
    args = ["serve", "--host", "0.0.0.0", "--database", database]
    result = CliRunner().invoke(cli_app, args)
    try:
        assert captured["app"].state.settings.cds.public_url is None
        assert "CDS Hooks tokens will be refused" in result.output
    finally:
        captured["app"].state.store.close()


def test_serve_refuses_a_deadline_above_eight_seconds(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("LOCOREG_CDS_FHIR_DEADLINE", "30")
    database = f"sqlite:///{tmp_path / 'audit.sqlite'}"
    result = CliRunner().invoke(cli_app, ["serve", "--database", database])
    assert result.exit_code == 2
    assert "LOCOREG_CDS_FHIR_DEADLINE must be seconds in (0, 8]" in result.output


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"LOCOREG_CDS_FHIR_DEADLINE": "0"}, "LOCOREG_CDS_FHIR_DEADLINE"),
        ({"LOCOREG_CDS_FHIR_DEADLINE": "soon"}, "LOCOREG_CDS_FHIR_DEADLINE"),
        ({"LOCOREG_PUBLIC_URL": "locoreg.example.org"}, "LOCOREG_PUBLIC_URL must be an http(s)"),
        ({"LOCOREG_CDS_FHIR_SERVERS": "ftp://x"}, "LOCOREG_CDS_FHIR_SERVERS must be an http(s)"),
    ],
)
def test_settings_refuse_unusable_values(env: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        CdsSettings.from_env(env)


def test_settings_defaults_and_values() -> None:
    assert CdsSettings.from_env({}) == CdsSettings(fhir_deadline_seconds=8.0)
    cds = CdsSettings.from_env(
        {
            "LOCOREG_PUBLIC_URL": "https://locoreg.example.org/",
            "LOCOREG_CDS_FHIR_SERVERS": "https://a.example/r4/, https://b.example",
            "LOCOREG_CDS_FHIR_DEADLINE": "2.5",
        },
        listen_url="http://127.0.0.1:8000",
    )
    assert cds.public_url == "https://locoreg.example.org"
    assert cds.fhir_servers == ("https://a.example/r4", "https://b.example")
    assert cds.fhir_deadline_seconds == 2.5


# --- 7 (part). the token's lifetime -----------------------------------------------------------


def test_a_token_living_longer_than_five_minutes_is_refused(
    make_client: Callable[..., TestClient],
    es384: Any,
    make_hook_request: Callable[..., dict[str, Any]],
) -> None:
    client = make_client(jwt_on=True)
    body = make_hook_request(None)
    now = int(time.time())
    long_lived = es384.token(iat=now, exp=now + 301)
    refused = post(client, body, long_lived)
    assert refused.status_code == 401
    assert refused.json()["detail"][0]["message"] == (
        "JWT lifetime exp - iat is 301 s; at most 300 s is accepted"
    )
    # Issued a while ago with a long lifetime: refused although it expires soon.
    assert post(client, body, es384.token(iat=now - 3000, exp=now + 60)).status_code == 401
    assert post(client, body, es384.token(iat=now, exp=now + 300)).status_code == 412


# --- 6. where the access token goes, and one deadline ------------------------------------------


class FhirServer:
    """A FHIR server on 127.0.0.1 answering the prefetch queries from one example Bundle.

    Records every request (path as sent, Authorization header). ``delay`` seconds before
    each answer; ``next_to`` replaces the searchset ``next`` link's origin; ``page_size``
    pages every searchset.
    """

    def __init__(self, bundle: dict[str, Any] | None = None, *, page_size: int = 100):
        self.resources = [e["resource"] for e in (bundle or {"entry": []})["entry"]]
        self.page_size = page_size
        self.delay = 0.0
        self.next_to: str | None = None
        self.requests: list[tuple[str, str | None]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.requests.append((self.path, self.headers.get("Authorization")))
                time.sleep(outer.delay)
                status, document = outer.answer(self.path)
                payload = json.dumps(document).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/fhir+json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/r4"
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self.thread.start()

    def answer(self, raw: str) -> tuple[int, Any]:
        parts = urlsplit(raw)
        path = parts.path.removeprefix("/r4/")
        query = parse_qs(parts.query)
        patient = next((r for r in self.resources if r["resourceType"] == "Patient"), None)
        if patient is None:
            return 404, {"resourceType": "OperationOutcome"}
        if path == f"Patient/{patient['id']}":
            return 200, patient
        if query.get("patient") != [patient["id"]]:
            return 404, {"resourceType": "OperationOutcome"}
        found = [r for r in self.resources if r["resourceType"] == path]
        offset = int(query.get("_offset", ["0"])[0])
        links = []
        if offset + self.page_size < len(found):
            base = self.next_to or self.url.removesuffix("/r4")
            nxt = f"{base}/r4/{path}?patient={patient['id']}&_offset={offset + self.page_size}"
            links.append({"relation": "next", "url": nxt})
        page = found[offset : offset + self.page_size]
        return 200, {
            "resourceType": "Bundle",
            "type": "searchset",
            "link": links,
            "entry": [{"resource": r} for r in page],
        }

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join()


@pytest.fixture
def fhir_servers(
    load_example: Callable[[str], dict[str, Any]],
) -> Iterator[Callable[..., FhirServer]]:
    running: list[FhirServer] = []

    def make(example: str | None = "discuss_local_therapy", **kwargs: Any) -> FhirServer:
        server = FhirServer(load_example(example) if example else None, **kwargs)
        running.append(server)
        return server

    yield make
    for server in running:
        server.close()


def fetching(patient_id: str, server: str, token: str = "fhir-token") -> dict[str, Any]:
    return {
        "hook": "patient-view",
        "hookInstance": str(uuid.uuid4()),
        "context": {"userId": "Practitioner/onc-1", "patientId": patient_id},
        "fhirServer": server,
        "fhirAuthorization": {
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": 300,
            "scope": "patient/*.read",
            "subject": "locoreg-cds",
        },
    }


def test_an_allow_listed_server_on_loopback_is_read(
    make_client: Callable[..., TestClient],
    fhir_servers: Callable[..., FhirServer],
    store: Any,
) -> None:
    server = fhir_servers(page_size=3)
    client = make_client(env={"LOCOREG_CDS_FHIR_SERVERS": server.url})
    response = client.post(SERVICE, json=fetching("discuss-1", server.url))
    assert response.status_code == 200, response.text
    assert response.json()["cards"][0]["source"]["topic"]["code"] == "discuss_local_therapy"
    assert len(server.requests) > 5  # pages followed
    assert {auth for _, auth in server.requests} == {"Bearer fhir-token"}


@pytest.mark.parametrize(
    "address",
    [
        "{loopback}",
        "http://localhost:9/r4",
        "http://169.254.169.254/latest",  # cloud metadata
        "http://[::1]:9/r4",
        "http://0.0.0.0:9/r4",
        "http://testserver/api",  # this service itself
    ],
)
def test_without_an_allow_list_internal_addresses_and_the_service_itself_are_refused(
    address: str,
    make_client: Callable[..., TestClient],
    fhir_servers: Callable[..., FhirServer],
) -> None:
    server = fhir_servers()
    url = address.format(loopback=server.url)
    response = make_client().post(SERVICE, json=fetching("discuss-1", url))
    assert response.status_code == 400
    (problem,) = response.json()["detail"]
    assert problem["field"] == "fhirServer"
    assert server.requests == []  # nothing was sent anywhere


def test_without_an_allow_list_the_token_goes_only_to_the_hooks_own_origin(
    fhir_servers: Callable[..., FhirServer],
) -> None:
    """The rule itself, with a public FHIR server name (not reachable from a test)."""
    assert fetch.server_problem("https://fhir.hospital.example.org/r4", ()) is None
    assert fetch.server_problem("https://fhir.hospital.example.org/r4", (), own=[None]) is None
    assert fetch.server_problem(
        "https://locoreg.example.org/x", (), own=["https://locoreg.example.org"]
    )
    base = "https://fhir.hospital.example.org/r4"
    assert fetch.token_may_go(f"{base}/Observation?page=2", base, ())
    assert fetch.token_may_go("https://fhir.hospital.example.org/paging/abc", base, ())
    assert not fetch.token_may_go("https://fhir.hospital.example.org:8443/r4", base, ())
    assert not fetch.token_may_go("http://fhir.hospital.example.org/r4", base, ())
    assert not fetch.token_may_go("https://fhir.hospital.example.org.evil.net/r4", base, ())
    assert not fetch.token_may_go("file:///etc/passwd", base, ())
    assert fetch.token_may_go("https://b.example/r4/x", base, ("https://b.example/r4",))
    assert not fetch.token_may_go("https://b.example/r40/x", base, ("https://b.example/r4",))


@pytest.mark.parametrize("allow_listed", [True, False])
def test_a_next_link_to_another_origin_gets_no_token(
    allow_listed: bool,
    make_client: Callable[..., TestClient],
    fhir_servers: Callable[..., FhirServer],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server = fhir_servers(page_size=2)
    elsewhere = fhir_servers(example=None)  # another origin: another port
    server.next_to = elsewhere.url.removesuffix("/r4")
    env = {"LOCOREG_CDS_FHIR_SERVERS": server.url} if allow_listed else {}
    if not allow_listed:
        # Without an allow-list loopback is refused; the rule under test is the next link,
        # so the loopback check is lifted for this one call.
        monkeypatch.setattr(fetch, "_internal_host", lambda host: False)
        monkeypatch.setattr("locoreg.web.cds.server_problem", lambda *a, **k: None)
    response = make_client(env=env).post(SERVICE, json=fetching("discuss-1", server.url))
    assert response.status_code == 412
    message = response.json()["detail"][0]["message"]
    assert message.startswith(f"the FHIR server sent a link to {server.next_to}")
    assert elsewhere.requests == []  # the token never left for the other origin
    assert "discuss-1" not in message  # the message (and log) carries no patient id


def test_patient_id_is_percent_encoded_in_every_url(
    make_client: Callable[..., TestClient], fhir_servers: Callable[..., FhirServer]
) -> None:
    server = fhir_servers()
    client = make_client(env={"LOCOREG_CDS_FHIR_SERVERS": server.url})
    response = client.post(SERVICE, json=fetching("x/../../Observation?code=1&a", server.url))
    assert response.status_code == 412  # no such patient on the server
    # The message (logged too) names the resource type, never the patient id.
    assert response.json()["detail"][0]["message"] == "FHIR server answered 404 for Patient"
    (path, _), *_ = server.requests
    assert path == "/r4/Patient/x%2F..%2F..%2FObservation%3Fcode%3D1%26a"


def test_one_deadline_bounds_all_reads_of_a_hook_call(
    make_client: Callable[..., TestClient], fhir_servers: Callable[..., FhirServer]
) -> None:
    """Each answer (0.15 s) comes well within the deadline (0.5 s); all of them do not."""
    server = fhir_servers(page_size=2)
    server.delay = 0.15
    env = {"LOCOREG_CDS_FHIR_SERVERS": server.url, "LOCOREG_CDS_FHIR_DEADLINE": "0.5"}
    response = make_client(env=env).post(SERVICE, json=fetching("discuss-1", server.url))
    assert response.status_code == 412
    assert response.json()["detail"][0]["message"] == (
        "the FHIR server did not answer within 0.5 s"
    )
    assert 2 <= len(server.requests) < 10  # stopped part-way, not after every page


def test_a_search_longer_than_the_page_limit_is_an_error_not_a_cut(
    make_client: Callable[..., TestClient],
    fhir_servers: Callable[..., FhirServer],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(fetch, "MAX_PAGES", 2)
    server = fhir_servers(page_size=2)
    client = make_client(env={"LOCOREG_CDS_FHIR_SERVERS": server.url})
    response = client.post(SERVICE, json=fetching("discuss-1", server.url))
    assert response.status_code == 412
    assert "search has more than 2 pages" in response.json()["detail"][0]["message"]


def test_an_answer_larger_than_the_limit_is_refused_not_buffered(
    make_client: Callable[..., TestClient],
    fhir_servers: Callable[..., FhirServer],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(fetch, "MAX_RESPONSE_BYTES", 2 * 1024 * 1024)
    server = fhir_servers()
    # One Observation padded beyond the limit (3 MB of narrative).
    big = next(r for r in server.resources if r["resourceType"] == "Observation")
    big["note"] = [{"text": "x" * (3 * 1024 * 1024)}]
    client = make_client(env={"LOCOREG_CDS_FHIR_SERVERS": server.url})
    response = client.post(SERVICE, json=fetching("discuss-1", server.url))
    assert response.status_code == 412
    assert response.json()["detail"][0]["message"] == (
        "the FHIR server's answer for Observation is larger than 2 MB"
    )
