"""Fixtures for the FHIR / CDS Hooks tests: example bundles, keys, an app with a fake store.

The JWT verifier's replay guard is the real one (``SeenJti``) on a SQLite file of the test's
own (``tmp_path``); ``postgresql_database`` gives a throw-away PostgreSQL database instead
(skipped without ``LOCOREG_TEST_POSTGRESQL_URL``).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from fastapi import FastAPI
from fastapi.testclient import TestClient

from locoreg.fhir.auth import Issuer, JwtVerifier
from locoreg.store import AuditStore, SeenJti
from locoreg.web.cds import router
from locoreg.web.settings import CdsSettings

from helpers.postgresql import database, postgresql_database

__all__ = ["database", "postgresql_database"]  # pytest fixtures, shared with tests/store

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "fhir"
SCHEMAS = Path(__file__).parent / "schemas"
ISS = "https://ehr.example.org"
BASE = "http://testserver"
SERVICE_URL = f"{BASE}/cds-services/locoreg-primary-tumour"


def example(name: str) -> dict[str, Any]:
    return json.loads((EXAMPLES / f"{name}.json").read_text())


def schema(name: str) -> dict[str, Any]:
    return json.loads((SCHEMAS / f"{name}.schema.json").read_text())


class FakeStore:
    """In-memory stand-in for the AuditStore's recording and look-up methods.

    Records keep the keyword arguments too (``provenance``, ``fhir_resources``,
    ``idempotency``); idempotency itself is tested on the real store.
    """

    def __init__(self) -> None:
        self.assessments: list[dict[str, Any]] = []
        self.feedback: list[dict[str, Any]] = []

    def record_assessment(
        self, patient_input: Any, assessment: Any, versions: Any, source: str, **extra: Any
    ) -> str:
        record_id = str(uuid.uuid4())
        self.assessments.append(
            {
                "id": record_id,
                "patient_input": patient_input,
                "assessment": assessment,
                "versions": versions,
                "source": source,
                **extra,
            }
        )
        return record_id

    def find_idempotent(self, idempotency: Any) -> None:
        return None

    def has_assessment(self, record_id: str) -> bool:
        return any(a["id"] == record_id for a in self.assessments)

    def record_feedback(
        self,
        service_id: str,
        card_uuid: str,
        outcome: str,
        override_reasons: Any,
        payload: Any,
        **extra: Any,
    ) -> str:
        record_id = str(uuid.uuid4())
        self.feedback.append(
            {
                "service_id": service_id,
                "card_uuid": card_uuid,
                "outcome": outcome,
                "override_reasons": list(override_reasons),
                "payload": payload,
                **extra,
            }
        )
        return record_id


class Signer:
    """An EHR: a private key, its public JWKS entry, and a token factory."""

    def __init__(self, alg: str, kid: str):
        self.alg, self.kid = alg, kid
        if alg == "ES384":
            self.key: Any = ec.generate_private_key(ec.SECP384R1())
            algo: Any = jwt.algorithms.ECAlgorithm(jwt.algorithms.ECAlgorithm.SHA384)
        else:
            self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            algo = jwt.algorithms.RSAAlgorithm(jwt.algorithms.RSAAlgorithm.SHA384)
        self.jwk = {**algo.to_jwk(self.key.public_key(), as_dict=True), "kid": kid, "alg": alg}

    def token(
        self, *, headers: dict[str, Any] | None = None, drop: tuple[str, ...] = (), **claims: Any
    ) -> str:
        now = int(time.time())
        body: dict[str, Any] = {
            "iss": ISS,
            "aud": SERVICE_URL,
            "iat": now,
            "exp": now + 300,
            "jti": str(uuid.uuid4()),
            "sub": "ehr-client",
        }
        body.update(claims)
        for key in drop:
            body.pop(key, None)
        return jwt.encode(
            body,
            self.key,
            algorithm=self.alg,
            headers={"kid": self.kid, "typ": "JWT", **(headers or {})},
        )


@pytest.fixture(scope="session")
def es384() -> Signer:
    return Signer("ES384", "ehr-es384")


@pytest.fixture(scope="session")
def rs384() -> Signer:
    return Signer("RS384", "ehr-rs384")


@pytest.fixture
def seen_jti(tmp_path: Path) -> Iterator[SeenJti]:
    """The replay guard of a store on a SQLite file of this test's own."""
    store = AuditStore(f"sqlite:///{tmp_path / 'replay.sqlite'}")
    yield store.seen_jti
    store.close()


@pytest.fixture
def verifier(es384: Signer, rs384: Signer, seen_jti: SeenJti) -> JwtVerifier:
    return JwtVerifier({ISS: Issuer(ISS, jwks={"keys": [es384.jwk, rs384.jwk]})}, replay=seen_jti)


@pytest.fixture
def store() -> FakeStore:
    return FakeStore()


@pytest.fixture
def make_client(store: FakeStore, verifier: JwtVerifier) -> Iterator[Callable[..., TestClient]]:
    clients: list[TestClient] = []

    def make(
        *, jwt_on: bool = False, env: dict[str, str] | None = None, http: Any = None
    ) -> TestClient:
        app = FastAPI()
        app.include_router(router)
        app.state.store = store
        # As ``locoreg serve --host testserver --port 80`` would start it: the address the
        # server was started on is its own URL (the JWT aud) unless LOCOREG_PUBLIC_URL is set.
        app.state.settings = type(
            "Settings",
            (),
            {"cds_jwt_enabled": jwt_on, "cds": CdsSettings.from_env(env or {}, listen_url=BASE)},
        )()
        app.state.cds_verifier = verifier
        if http is not None:
            app.state.cds_http_client = http
        client = TestClient(app)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


def prefetch_from(bundle: dict[str, Any]) -> dict[str, Any]:
    """Split an example Bundle into the service's prefetch keys, as an EHR would send them."""
    resources = [e["resource"] for e in bundle["entry"]]

    def searchset(kind: str) -> dict[str, Any]:
        found = [r for r in resources if r["resourceType"] == kind]
        return {
            "resourceType": "Bundle",
            "type": "searchset",
            "total": len(found),
            "entry": [{"resource": r} for r in found],
        }

    patient = next(r for r in resources if r["resourceType"] == "Patient")
    return {
        "patient": patient,
        "conditions": searchset("Condition"),
        "observations": searchset("Observation"),
        "medicationStatements": searchset("MedicationStatement"),
        "medicationRequests": searchset("MedicationRequest"),
    }


def hook_request(bundle: dict[str, Any] | None, **changes: Any) -> dict[str, Any]:
    patient_id = "discuss-1"
    prefetch = None
    if bundle is not None:
        prefetch = prefetch_from(bundle)
        patient_id = prefetch["patient"]["id"]
    body: dict[str, Any] = {
        "hook": "patient-view",
        "hookInstance": str(uuid.uuid4()),
        "context": {"userId": "Practitioner/onc-1", "patientId": patient_id},
    }
    if prefetch is not None:
        body["prefetch"] = prefetch
    body.update(changes)
    return body


@pytest.fixture
def load_example() -> Callable[[str], dict[str, Any]]:
    return example


@pytest.fixture
def load_schema() -> Callable[[str], dict[str, Any]]:
    return schema


@pytest.fixture
def make_hook_request() -> Callable[..., dict[str, Any]]:
    return hook_request


@pytest.fixture
def make_prefetch() -> Callable[[dict[str, Any]], dict[str, Any]]:
    return prefetch_from
