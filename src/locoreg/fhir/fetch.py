"""Prefetch for the CDS service: templates, and fetching what the EHR did not send.

A CDS client may send each prefetch item, send ``null`` for one it could not get,
or omit it; the service then reads it from ``fhirServer`` with the access token the
client gave (``fhirAuthorization``). The results are merged into one collection
Bundle for :func:`locoreg.fhir.mapping.bundle_to_patient`.
"""

from __future__ import annotations

import ipaddress
import json
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

from locoreg.fhir import codes as c

_OBSERVATION_CODES = ",".join(
    [
        *(f"{c.LOINC}|{code}" for code in c.MAPPED_LOINC_CODES),
        *(
            f"{c.LOCOREG_CS}|{code}"
            for code in (
                c.SURGICAL_RISK,
                c.ASA_CLASS,
                c.RESECTABLE,
                c.PREFERENCE,
                c.VISCERAL_CRISIS,
            )
        ),
        # Local symptoms recorded as Observations (as Conditions they come with all
        # Conditions).
        *(
            f"{c.SNOMED}|{code}"
            for code in (*c.SYMPTOM_SNOMED_NEEDS_BREAST_SITE, *c.SYMPTOM_SNOMED_BREAST)
        ),
        *(f"{c.LOCOREG_CS}|{code}" for code in sorted(c.SYMPTOM_LOCOREG)),
    ]
)

PREFETCH: dict[str, str] = {
    "patient": "Patient/{{context.patientId}}",
    "conditions": "Condition?patient={{context.patientId}}",
    "observations": f"Observation?patient={{{{context.patientId}}}}&code={_OBSERVATION_CODES}",
    "medicationStatements": "MedicationStatement?patient={{context.patientId}}",
    "medicationRequests": "MedicationRequest?patient={{context.patientId}}",
}


# Most searchset pages followed per query. A longer result is an error, never cut short:
# a record read in part could hide the observation that changes the answer.
MAX_PAGES = 20
DEFAULT_DEADLINE_SECONDS = 8.0
# Largest answer read from the FHIR server (one page): a record of one patient's
# staging, markers and therapy is far smaller; a larger answer is refused, not buffered.
MAX_RESPONSE_BYTES = 20 * 1024 * 1024
_LOOPBACK_NAMES = ("localhost", "localhost.", "ip6-localhost", "ip6-loopback")


class FetchError(Exception):
    """The FHIR server could not provide what the service needs (HTTP 412 to the client)."""


def render(template: str, patient_id: str) -> str:
    """The query of a prefetch template; the id is percent-encoded (``/``, ``?``, ``&``...)."""
    return template.replace("{{context.patientId}}", quote(patient_id, safe=""))


# --- where the access token may go -------------------------------------------------------------


def origin(url: str) -> tuple[str, str, int] | None:
    """``(scheme, host, port)`` of an http(s) URL; None for anything else."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        return None
    return parts.scheme, parts.hostname.lower(), port or (443 if parts.scheme == "https" else 80)


def under(url: str, base: str) -> bool:
    """``url`` is ``base`` or a path below it, on the same origin (a longer host name or a
    path that merely starts like the base's last segment is not under it)."""
    if origin(url) is None or origin(url) != origin(base):
        return False
    path, root = urlsplit(url).path.rstrip("/"), urlsplit(base).path.rstrip("/")
    return path == root or path.startswith(root + "/")


def _internal_host(host: str) -> bool:
    """Loopback, link-local (cloud metadata), unspecified or multicast: never a hospital's
    FHIR server unless an administrator lists it."""
    if host in _LOOPBACK_NAMES or host.endswith(".localhost"):
        return True
    try:
        ip = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False  # a name: not resolved here (docs/ehr-integration.md)
    return ip.is_loopback or ip.is_link_local or ip.is_unspecified or ip.is_multicast


def server_problem(
    server: str, allowed: Sequence[str], own: Sequence[str | None] = ()
) -> str | None:
    """Why the service must not send the EHR's token to ``server`` (None: it may).

    With ``allowed`` (``LOCOREG_CDS_FHIR_SERVERS``) set, the server must be one of those
    bases or below one. Without it, any http(s) server of the hook, except a loopback /
    link-local / unspecified address and this service's own origin (``own``): the service
    must not be made to read itself or the host it runs on.
    """
    where = origin(server)
    if where is None:
        return "must be the http(s) base URL of the FHIR server"
    if allowed:
        if any(under(server, base) for base in allowed):
            return None
        return "this FHIR server is not in LOCOREG_CDS_FHIR_SERVERS"
    if _internal_host(where[1]):
        return (
            "a loopback or link-local FHIR server is used only when listed in "
            "LOCOREG_CDS_FHIR_SERVERS"
        )
    if any(o is not None and origin(o) == where for o in own):
        return "this is the locoreg service itself, not a FHIR server"
    return None


def token_may_go(url: str, server: str, allowed: Sequence[str]) -> bool:
    """The access token goes only to the hook's ``fhirServer`` origin or an allow-listed base."""
    target = origin(url)
    return target is not None and (
        target == origin(server) or any(under(url, base) for base in allowed)
    )


def _shown_origin(url: str) -> str:
    """A URL reduced to its origin for messages and logs (no path or query: no patient id)."""
    where = origin(url)
    return f"{where[0]}://{where[1]}:{where[2]}" if where else "a non-http(s) URL"


# --- reading ---------------------------------------------------------------------------------


class _Reader:
    """Every FHIR read of one hook call: the token policy and one overall deadline."""

    def __init__(
        self,
        client: httpx.Client,
        server: str,
        token: str | None,
        allowed: Sequence[str],
        deadline_seconds: float,
    ):
        self.client, self.server, self.token, self.allowed = client, server, token, allowed
        self.seconds = deadline_seconds
        self.ends = time.monotonic() + deadline_seconds

    def _remaining(self) -> float:
        left = self.ends - time.monotonic()
        if left <= 0:
            raise FetchError(f"the FHIR server did not answer within {self.seconds:g} s")
        return left

    def get(self, url: str, what: str) -> Any:
        if not token_may_go(url, self.server, self.allowed):
            raise FetchError(
                f"the FHIR server sent a link to {_shown_origin(url)}, outside its own origin "
                "and LOCOREG_CDS_FHIR_SERVERS; the access token is not sent there"
            )
        headers = {"Accept": "application/fhir+json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        body = bytearray()
        try:
            # Streamed, so that the deadline also bounds a server that trickles its answer;
            # redirects are not followed (httpx's default): they would carry the token on.
            with self.client.stream(
                "GET", url, headers=headers, timeout=httpx.Timeout(self._remaining())
            ) as response:
                if response.status_code != 200:
                    raise FetchError(f"FHIR server answered {response.status_code} for {what}")
                for chunk in response.iter_bytes():
                    self._remaining()
                    body += chunk
                    if len(body) > MAX_RESPONSE_BYTES:
                        raise FetchError(
                            f"the FHIR server's answer for {what} is larger than "
                            f"{MAX_RESPONSE_BYTES // (1024 * 1024)} MB"
                        )
        except httpx.TimeoutException:
            raise FetchError(f"the FHIR server did not answer within {self.seconds:g} s") from None
        except httpx.HTTPError as exc:
            raise FetchError(f"FHIR server unreachable ({type(exc).__name__})") from None
        try:
            return json.loads(body)
        except ValueError:
            raise FetchError(f"FHIR server sent no JSON for {what}") from None

    def query(self, query: str) -> list[Mapping[str, Any]]:
        """One prefetch query; a searchset is read to its end through ``next`` links."""
        # Named by resource type only: messages reach the log, and a patient id must not.
        what = query.split("?")[0].split("/")[0]
        first = self.get(f"{self.server.rstrip('/')}/{query}", what)
        if not isinstance(first, Mapping):
            return []
        if first.get("resourceType") != "Bundle":
            return [first]
        pages = [first]
        while nxt := _next_link(pages[-1]):
            if len(pages) == MAX_PAGES:
                raise FetchError(f"the {what} search has more than {MAX_PAGES} pages")
            page = self.get(nxt, what)
            if not isinstance(page, Mapping):
                raise FetchError(f"FHIR server sent no Bundle while paging {what}")
            pages.append(page)
        return pages


def _next_link(bundle: Mapping[str, Any]) -> str | None:
    links = bundle.get("link") or []
    url = next(
        (x.get("url") for x in links if isinstance(x, Mapping) and x.get("relation") == "next"),
        None,
    )
    return url if isinstance(url, str) and url else None


def gather_bundle(
    prefetch: Mapping[str, Any] | None,
    patient_id: str,
    *,
    fhir_server: str | None = None,
    access_token: str | None = None,
    client: httpx.Client | None = None,
    allowed: Sequence[str] = (),
    deadline_seconds: float = DEFAULT_DEADLINE_SECONDS,
) -> dict[str, Any]:
    """One collection Bundle from the prefetch, fetching the missing items from the server.

    The token goes to ``fhir_server``'s origin and the ``allowed`` bases only (``next``
    links included); all reads share one deadline of ``deadline_seconds``.
    """
    prefetch = prefetch or {}
    missing = [key for key in PREFETCH if prefetch.get(key) is None]
    if missing and not fhir_server:
        raise FetchError(
            "prefetch is incomplete (" + ", ".join(missing) + ") and no fhirServer was given"
        )
    items: list[Mapping[str, Any]] = [v for v in prefetch.values() if isinstance(v, Mapping)]
    if missing:
        own = client is None
        http = client or httpx.Client()
        reader = _Reader(http, str(fhir_server), access_token, allowed, deadline_seconds)
        try:
            for key in missing:
                items.extend(reader.query(render(PREFETCH[key], patient_id)))
        finally:
            if own:
                http.close()
    entries = [{"resource": item} for item in items]
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
        "entry": entries,
    }
