"""Transport hardening (locoreg.web.hardening): headers, trusted hosts, body limit, 500s.

The 500 test runs a real uvicorn server on 127.0.0.1 in a thread, with an extra route
that raises, and one keep-alive httpx client: the 500 is JSON in the API's error shape,
the log names the exception type and route but nothing of the request, and the same
connection serves the next request.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient

from locoreg.store import AuditStore
from locoreg.web.hardening import CONTENT_SECURITY_POLICY
from web.support import EXAMPLE_FILES, free_port, load_example, make_app, read_form

PATIENT = load_example(EXAMPLE_FILES[0])


def test_security_headers_on_pages_api_and_assets(client: TestClient) -> None:
    for path in ("/", "/history", "/api/assessments", "/healthz", "/no-such-page"):
        r = client.get(path)
        assert r.headers["content-security-policy"] == CONTENT_SECURITY_POLICY, path
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["referrer-policy"] == "no-referrer"
        assert r.headers["cache-control"] == "no-store", path
    assert "frame-ancestors 'none'" in CONTENT_SECURITY_POLICY
    assert "script-src 'self'" in CONTENT_SECURITY_POLICY
    created = client.post("/api/assessments", json=PATIENT)
    assert created.headers["cache-control"] == "no-store"
    record = created.json()["id"]
    for path in (f"/assessments/{record}", f"/assessments/{record}/summary"):
        assert client.get(path).headers["cache-control"] == "no-store"
    # Vendored assets may be cached (no patient data), but are still nosniff.
    css = client.get("/static/css/locoreg.css")
    assert css.status_code == 200 and "cache-control" not in css.headers
    assert css.headers["x-content-type-options"] == "nosniff"


def test_templates_carry_no_inline_script(client: TestClient) -> None:
    """script-src 'self' forbids inline scripts and handlers: the pages have none."""
    for path in ("/", "/history", "/evidence", "/meta"):
        html = client.get(path).text.lower()
        assert "<script>" not in html and " onclick=" not in html and " onload=" not in html
        assert all('src="/static/' in tag for tag in html.split("<script")[1:]), (
            f"{path}: a script from elsewhere"
        )


@pytest.mark.parametrize(
    "url", ["/static/css/locoreg.css%00", "/static/%00", f"/static/{'a' * 5000}"]
)
def test_static_paths_the_file_system_cannot_look_up_are_not_found(
    client: TestClient, url: str
) -> None:
    assert client.get(url).status_code == 404


@pytest.mark.parametrize(
    ("env", "host", "status"),
    [
        ({}, "127.0.0.1:8000", 200),
        ({}, "localhost", 200),
        ({}, "[::1]:8000", 200),
        ({}, "evil.example", 400),
        ({}, "127.0.0.1.evil.example", 400),
        (
            {"LOCOREG_PUBLIC_URL": "https://tumour-board.hospital.org/locoreg"},
            "tumour-board.hospital.org",
            200,
        ),
        ({"LOCOREG_PUBLIC_URL": "https://tumour-board.hospital.org"}, "evil.example", 400),
        ({"LOCOREG_ALLOWED_HOSTS": "locoreg.internal, 10.0.0.5"}, "10.0.0.5:8000", 200),
        ({"LOCOREG_ALLOWED_HOSTS": "*"}, "anything.example", 200),
    ],
)
def test_only_trusted_host_names_are_answered(
    tmp_path: Path, env: dict[str, str], host: str, status: int
) -> None:
    app, store = make_app(tmp_path, **env)
    try:
        with TestClient(app) as c:
            r = c.get("/healthz", headers={"host": host})
        assert r.status_code == status, r.text
        if status == 400:
            (problem,) = r.json()["detail"]
            assert problem["field"] == "Host" and "LOCOREG_ALLOWED_HOSTS" in problem["allowed"]
    finally:
        store.close()


def test_body_above_the_limit_is_413(client: TestClient) -> None:
    big = {**PATIENT, "label": "x" * (2 * 1024 * 1024)}  # default limit: 2 MiB
    r = client.post("/api/assessments", json=big)
    assert r.status_code == 413
    (problem,) = r.json()["detail"]
    assert "2097152 bytes" in problem["message"]
    # Just under the limit is read (and refused for its content, not its size).
    r = client.post("/api/assessments", json={**PATIENT, "label": "x" * (2 * 1024 * 1024 - 1000)})
    assert r.status_code == 422


def test_body_limit_is_configurable_and_counts_chunked_bodies(tmp_path: Path) -> None:
    app, store = make_app(tmp_path, LOCOREG_MAX_BODY_BYTES="4096")
    try:
        with TestClient(app) as c:
            body = b'{"yi": [' + b"0.1, " * 2000 + b'0.1], "vi": [1]}'

            def chunks() -> Iterator[bytes]:  # no Content-Length: counted while read
                for i in range(0, len(body), 1000):
                    yield body[i : i + 1000]

            assert (
                c.post(
                    "/api/meta", content=body, headers={"content-type": "application/json"}
                ).status_code
                == 413
            )
            r = c.post("/api/meta", content=chunks(), headers={"content-type": "application/json"})
            assert r.status_code == 413, r.text
            ok = c.post("/api/meta", json={"yi": [0.1, 0.2], "vi": [0.1, 0.2]})
            assert ok.status_code == 200
    finally:
        store.close()


def test_bad_body_limit_setting_is_named(tmp_path: Path) -> None:
    from locoreg.errors import InputError

    with pytest.raises(InputError, match="LOCOREG_MAX_BODY_BYTES"):
        make_app(tmp_path, LOCOREG_MAX_BODY_BYTES="2MB")


# -- a real server: the connection survives a 500 ----------------------------------------


class LiveServer:
    """uvicorn serving ``app`` on a free 127.0.0.1 port, in a thread of this process."""

    def __init__(self, app: FastAPI) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        import time

        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)


def _local_port(response: httpx.Response) -> Any:
    stream = response.extensions["network_stream"]
    return stream.get_extra_info("client_addr")


def test_an_unexpected_exception_is_a_json_500_on_a_connection_that_stays_usable(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    app, store = make_app(tmp_path)

    @app.post("/api/boom", include_in_schema=False)
    async def boom(request: Request) -> None:
        raise RuntimeError(f"patient {await request.body()!r}")  # what a bug might log

    try:
        with LiveServer(app) as live, httpx.Client(base_url=live.url, timeout=30) as c:
            first = c.get("/healthz")
            assert first.status_code == 200
            with caplog.at_level(logging.INFO):
                r = c.post("/api/boom", json={"label": "Mrs X 1961-02-03"})
            assert r.status_code == 500
            assert r.json() == {
                "detail": [
                    {"field": "", "message": "internal error; the request was not processed"}
                ]
            }
            assert r.headers["x-content-type-options"] == "nosniff"
            again = c.post("/api/assessments", json=PATIENT)
            assert again.status_code == 201
            # One TCP connection for all three requests: keep-alive was not reset.
            assert _local_port(first) == _local_port(r) == _local_port(again)
        logged = "\n".join(rec.getMessage() + str(rec.exc_info or "") for rec in caplog.records)
        assert "RuntimeError on POST /api/boom" in logged
        assert "Mrs X" not in logged and "1961" not in logged
    finally:
        store.close()


# -- CSRF: the form post needs the signed double-submit token ---------------------------

FORM = {
    "age": "52",
    "sex": "female",
    "histology_confirmed": "true",
    "er": "positive",
    "pr": "positive",
    "her2": "negative",
    "m": "M1",
    "metastases-0-site": "bone",
    "metastases-0-lesions": "2",
}


def _token_and_cookie(client: TestClient) -> tuple[str, str]:
    page = client.get("/")
    token = dict(read_form(page.text).fields)["csrf_token"]
    cookie = client.cookies["locoreg_csrf"]
    return token, cookie


def test_form_post_with_its_token_is_recorded(client: TestClient, store: AuditStore) -> None:
    token, cookie = _token_and_cookie(client)
    assert token == cookie and "." in token
    set_cookie = client.get("/").headers["set-cookie"].lower()
    assert "httponly" in set_cookie and "samesite=lax" in set_cookie
    r = client.post("/assess", data={**FORM, "csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303
    assert store.count_assessments() == 1


@pytest.mark.parametrize("attack", ["no token", "no cookie", "other token", "unsigned pair"])
def test_form_post_without_a_valid_token_is_refused(
    client: TestClient, store: AuditStore, attack: str
) -> None:
    token, _ = _token_and_cookie(client)
    data = {**FORM, "csrf_token": token}
    if attack == "no token":
        del data["csrf_token"]
    elif attack == "no cookie":  # a cross-site post without the victim's cookie
        client.cookies.clear()
    elif attack == "other token":  # a token of another session, or of another server
        data["csrf_token"] = "abc." + "0" * 64
    else:  # attacker sets both cookie and field to a value of their own (cookie tossing)
        client.cookies.set("locoreg_csrf", "abc.def")
        data["csrf_token"] = "abc.def"
    r = client.post("/assess", data=data, follow_redirects=False)
    assert r.status_code == 403
    assert "could not be verified" in r.text and "Nothing was recorded" in r.text
    assert 'value="52"' in r.text  # the entries come back, with a fresh token
    assert store.count_assessments() == 0


def test_token_signed_by_another_server_is_refused(tmp_path: Path, client: TestClient) -> None:
    other_app, other_store = make_app(tmp_path / "other", LOCOREG_SECRET_KEY="another secret")
    try:
        with TestClient(other_app) as other:
            token, cookie = _token_and_cookie(other)
        client.cookies.set("locoreg_csrf", cookie)
        r = client.post("/assess", data={**FORM, "csrf_token": token}, follow_redirects=False)
        assert r.status_code == 403
    finally:
        other_store.close()


def test_a_fixed_secret_keeps_tokens_valid_across_processes(tmp_path: Path) -> None:
    """Two app instances (two workers, or a restart) with one LOCOREG_SECRET_KEY."""
    apps = [make_app(tmp_path / n, LOCOREG_SECRET_KEY="shared") for n in ("a", "b")]
    try:
        with TestClient(apps[0][0]) as first, TestClient(apps[1][0]) as second:
            token, cookie = _token_and_cookie(first)
            second.cookies.set("locoreg_csrf", cookie)
            data = {**FORM, "csrf_token": token}
            assert second.post("/assess", data=data, follow_redirects=False).status_code == 303
    finally:
        for _, store in apps:
            store.close()


@pytest.mark.parametrize(
    ("content_type", "status"),
    [
        (None, 415),  # a no-CORS fetch with a Blob body: no Content-Type, no preflight
        ("text/plain", 415),  # an HTML form with enctype="text/plain"
        ("application/x-www-form-urlencoded", 415),
        ("application/json; charset=utf-8", 201),
        ("application/fhir+json", 201),
    ],
)
def test_api_posts_must_be_json(
    client: TestClient, store: AuditStore, content_type: str | None, status: int
) -> None:
    import json

    headers = {} if content_type is None else {"content-type": content_type}
    r = client.post("/api/assessments", content=json.dumps(PATIENT), headers=headers)
    assert r.status_code == status, r.text
    assert store.count_assessments() == (1 if status == 201 else 0)
    if status == 415:
        assert r.json()["detail"][0]["field"] == "Content-Type"


def test_serve_names_a_malformed_limit_without_a_traceback() -> None:
    from typer.testing import CliRunner

    from locoreg.cli import app

    result = CliRunner().invoke(
        app, ["serve", "--port", "0"], env={"LOCOREG_MAX_BODY_BYTES": "2MB"}
    )
    assert result.exit_code == 2
    assert "LOCOREG_MAX_BODY_BYTES" in result.output and "Traceback" not in result.output
