"""Use cases for SMART on FHIR connections: connect, list, sync, disconnect."""

from __future__ import annotations

import functools
import ssl
import threading
import webbrowser
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx

from phr_desktop import __version__
from phr_desktop.services.client_ids import missing_client_id_message
from phr_desktop.services.connection_status import ConnectionStatus, connection_statuses
from phr_desktop.services.errors import ServiceError
from phr_desktop.services.person import OtherPersonError, PersonCheck
from phr_desktop.services.plain_words import sync_progress_words
from phr_desktop.services.search_pages import parse_page
from phr_desktop.services.tasks import CancelToken, Progress, ProgressCallback, no_progress
from phr_desktop.services.terminology import normalise_resource
from phr_desktop.smart.discovery import SmartConfiguration, discover
from phr_desktop.smart.dynamic_registration import (
    DeviceRegistration,
    RegistrationError,
    offers_dynamic_registration,
    register_device,
    token_with_device_key,
)
from phr_desktop.smart.errors import ResourceRefused, SyncError, TokenExpired
from phr_desktop.smart.fhir_client import FhirClient, TokenKeeper
from phr_desktop.smart.oauth import TokenSet, authorize, refresh
from phr_desktop.smart.scopes import requested_scope
from phr_desktop.smart.sync import SyncEngine, SyncReport
from phr_desktop.smart.url_rules import require_secure
from phr_desktop.vault import fact_links
from phr_desktop.vault.connections import ConnectionStore, StoredConnection, StoredTokens
from phr_desktop.vault.database import transaction
from phr_desktop.vault.timestamps import now_iso

if TYPE_CHECKING:
    from phr_desktop.services.session import Session


def _refuse_plain_http(request: httpx.Request) -> None:
    """Last line behind the checks made before each step: no request of a connection (a
    redirect included) travels as plain http to another machine."""
    require_secure(str(request.url), "server's")


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """The certificate checks every client uses, built once per process: httpx would read and
    parse the whole CA bundle for each new client (~70 ms of CPU, more than storing a
    thousand resources), and an SSLContext is safe to share between clients and threads."""
    return httpx.create_ssl_context()  # verify=True: certifi's CAs, or SSL_CERT_FILE/_DIR


def new_http_client() -> httpx.Client:
    """One client per connection: keep-alive, explicit timeouts, no telemetry headers."""
    return httpx.Client(
        verify=_tls_context(),
        timeout=httpx.Timeout(30.0, connect=10.0),
        limits=httpx.Limits(max_connections=8, max_keepalive_connections=8),
        headers={"User-Agent": f"phr-desktop/{__version__}"},
        follow_redirects=True,
        event_hooks={"request": [_refuse_plain_http]},
    )


def _config_from_stored(data: dict[str, Any]) -> SmartConfiguration:
    return SmartConfiguration(
        authorization_endpoint=data["authorization_endpoint"],
        token_endpoint=data["token_endpoint"],
        revocation_endpoint=data.get("revocation_endpoint"),
        issuer=data.get("issuer"),
    )


def _config_to_stored(config: SmartConfiguration) -> dict[str, Any]:
    return {
        "authorization_endpoint": config.authorization_endpoint,
        "token_endpoint": config.token_endpoint,
        "revocation_endpoint": config.revocation_endpoint,
        "issuer": config.issuer,
    }


class ConnectionService:
    def __init__(self, session: Session) -> None:
        self.session = session
        self.conn = session.vault.conn
        self.store = ConnectionStore(self.conn)

    # --- connect ------------------------------------------------------------------------------

    def connect(
        self,
        fhir_base: str,
        *,
        client_id: str | None = None,
        name: str | None = None,
        open_url: Callable[[str], object] = webbrowser.open,
        timeout: float = 300.0,
        cancel: CancelToken | None = None,
        same_person: bool = False,
    ) -> StoredConnection:
        """Sign in and store the connection; `same_person`: the patient confirmed that a
        signed-in patient held as another person is them (the name is remembered)."""
        require_secure(fhir_base, "FHIR server")  # before anything is asked of it
        if not client_id:  # the caller resolves it per vendor (services/provider_connect.py)
            raise ServiceError(missing_client_id_message(""))
        name = name or urlsplit(fhir_base).netloc or fhir_base
        if self.store.by_name(name):
            raise ServiceError(f"A connection named {name!r} exists; disconnect it or pick --name.")
        cancelled = cancel.event if cancel is not None else threading.Event()
        device: DeviceRegistration | None = None
        registration_problem: str | None = None
        with new_http_client() as http:
            config = discover(http, fhir_base)
            tokens = authorize(
                http,
                config,
                client_id,
                fhir_base,
                requested_scope(config),
                open_url,
                timeout,
                cancelled,
            )
            # Whose record the sign-in opened, before anything is stored or registered.
            check = self._check_signed_in_patient(http, fhir_base, tokens, same_person)
            if tokens.patient and offers_dynamic_registration(config):
                try:
                    device = register_device(http, config, client_id, tokens.access_token)
                except RegistrationError as exc:
                    registration_problem = (
                        f"Registering this device with the provider failed ({exc}); the "
                        "connection renews its sign-in with a refresh token instead."
                    )
        if not tokens.patient:
            raise ServiceError(
                "The provider signed you in but did not say whose record to read (no patient). "
                "Nothing was stored."
            )
        with transaction(self.conn):
            if check is not None:
                self.session.person.adopt_or_confirm(check, "sync", same_person)
            source_id = self.session.store.ensure_source("smart", name, {"fhir_base": fhir_base})
            connection_id = self.store.add(
                name, fhir_base, client_id, source_id, tokens.patient, tokens.scope,
                _config_to_stored(config),
            )  # fmt: skip
            self.store.save_tokens(connection_id, _stored(tokens))
            if device is not None:
                self.store.save_device_key(connection_id, device.client_id, device.private_jwk)
            if registration_problem is not None:
                self.store.update(connection_id, last_error=registration_problem)
            self.session.vault.audit.append(
                "connect", connection=connection_id, device_key=device is not None
            )
        found = self.store.by_name(name)
        assert found is not None
        return found

    def _check_signed_in_patient(
        self, http: httpx.Client, fhir_base: str, tokens: TokenSet, same_person: bool
    ) -> PersonCheck | None:
        """Read the signed-in patient and compare them with the profile's person; raises
        OtherPersonError (nothing stored) for someone else. None: no patient to read."""
        if not tokens.patient:
            return None
        client = FhirClient(http, fhir_base, TokenKeeper(tokens, lambda same: same))
        try:
            patient = client.get_json(f"Patient/{tokens.patient}")
        except ResourceRefused:
            return None  # not readable with this scope: the sync checks what it receives
        check = self.session.person.check([patient])
        if check.held and not same_person:
            raise OtherPersonError(check, "This sign-in", "phr connect URL --same-person")
        return check

    # --- status -------------------------------------------------------------------------------

    def statuses(self) -> list[ConnectionStatus]:
        return connection_statuses(self.conn)

    def _named(self, name: str) -> StoredConnection:
        found = self.store.by_name(name)
        if found is None:
            names = ", ".join(c.name for c in self.store.all()) or "none yet"
            raise ServiceError(f"There is no connection named {name!r} (connections: {names}).")
        return found

    # --- sync ---------------------------------------------------------------------------------

    def sync(
        self,
        name: str | None = None,
        *,
        full: bool = False,
        progress: ProgressCallback = no_progress,
        cancel: CancelToken | None = None,
    ) -> dict[str, SyncReport]:
        targets = (
            [self._named(name)] if name else [c for c in self.store.all() if c.status == "active"]
        )
        if name and targets[0].status != "active":
            raise ServiceError(
                f"{name!r} needs reconnecting before it can sync (status: {targets[0].status})."
            )
        cancel = cancel or CancelToken()
        if not self.session.sync_lock.acquire(blocking=False):
            raise ServiceError(
                "A sync is already running; this one was not started. Wait for it to finish "
                "(or cancel it), then sync again."
            )
        try:
            return {c.name: self._sync_one(c, full, progress, cancel) for c in targets}
        finally:
            self.session.sync_lock.release()

    def _sync_one(
        self,
        connection: StoredConnection,
        full: bool,
        progress: ProgressCallback,
        cancel: CancelToken,
    ) -> SyncReport:
        stored = self.store.tokens(connection.id)
        if stored is None:
            raise ServiceError(f"{connection.name!r} has no sign-in stored; reconnect it.")
        config = _config_from_stored(connection.smart_config)
        write_lock = self.session.write_lock
        tokens = TokenSet(
            stored.access_token, stored.refresh_token, stored.expires_at, connection.scope,
            connection.patient_id, stored.id_token,
        )  # fmt: skip

        stored_key = self.store.device_key(connection.id)
        device = DeviceRegistration(*stored_key) if stored_key else None

        with new_http_client() as http:

            def renew(old: TokenSet) -> TokenSet:
                if device is not None:  # the device key signs for a new access token
                    new = token_with_device_key(http, config, device, old)
                else:
                    new = refresh(http, config, connection.client_id, old)
                # Stored before use, so a rotated refresh token survives a crash right after.
                with write_lock, transaction(self.conn):
                    self.store.save_tokens(connection.id, _stored(new))
                return new

            keeper = TokenKeeper(tokens, renew, renews_without_refresh_token=device is not None)
            client = FhirClient(http, connection.fhir_base, keeper)
            engine = SyncEngine(
                self.conn, connection, client, parse_page, normalise_resource, write_lock
            )
            started = now_iso()
            try:
                self._check_synced_patient(client, connection)
                report = engine.run(
                    full,
                    lambda done, total, message: progress(
                        Progress(done, total, f"{connection.name}: {sync_progress_words(message)}")
                    ),
                    lambda: cancel.cancelled,
                )
            except TokenExpired as exc:
                self._mark_expired(connection, str(exc))
                raise
        with write_lock, transaction(self.conn):
            fields: dict[str, Any] = {"last_sync_at": started}
            fields["last_error"] = (
                "; ".join(f"{o.resource_type}: {o.detail}" for o in report.failed) or None
            )
            if report.reconnect_needed:
                fields["status"] = "expired"
            if full and not report.failed:
                fields["last_full_sync_started_at"] = started
            self.store.update(connection.id, **fields)
            self.session.vault.audit.append(
                "sync", connection=connection.id, new=report.counts.new,
                updated=report.counts.updated, failed_types=len(report.failed),
            )  # fmt: skip
        cancel.raise_if_cancelled()
        return report

    def _check_synced_patient(self, client: FhirClient, connection: StoredConnection) -> None:
        """Every sync first reads its patient: a connection that now opens another person's
        record (the portal account changed hands) stores nothing."""
        if not connection.patient_id:
            return
        try:
            patient = client.get_json(f"Patient/{connection.patient_id}")
        except (ResourceRefused, TokenExpired):
            # Not readable with this scope, or the sign-in is over: the sync itself reports
            # that (and stores nothing without a token).
            return
        check = self.session.person.check([patient])
        if check.held:
            raise OtherPersonError(
                check,
                f"The record {connection.name!r} now opens",
                "phr connect again with --same-person",
            )
        if check.adopt is not None:
            with self.session.write_lock, transaction(self.conn):
                self.session.person.adopt_or_confirm(check, "sync", same_person=False)

    def _mark_expired(self, connection: StoredConnection, why: str) -> None:
        with self.session.write_lock, transaction(self.conn):
            self.store.update(connection.id, status="expired", last_error=why)

    # --- disconnect ---------------------------------------------------------------------------

    def disconnect(self, name: str, *, delete_data: bool = False) -> bool:
        """Forget a connection (revoking its token where the server can); True if revoked."""
        connection = self._named(name)
        tokens = self.store.tokens(connection.id)
        revoked = False
        endpoint = connection.smart_config.get("revocation_endpoint")
        if tokens and endpoint:
            try:
                with new_http_client() as http:
                    token = tokens.refresh_token or tokens.access_token
                    hint = "refresh_token" if tokens.refresh_token else "access_token"
                    response = http.post(
                        endpoint,
                        data={
                            "token": token,
                            "token_type_hint": hint,
                            "client_id": connection.client_id,
                        },
                        follow_redirects=False,  # the token goes to the endpoint only
                    )
                    revoked = response.status_code == 200
            except (httpx.HTTPError, SyncError):  # unreachable, or refused as plain http
                revoked = False
        with transaction(self.conn):
            self.store.drop_tokens(connection.id)
            self.store.delete(connection.id)
            if delete_data:
                _delete_source_data(self.conn, connection.source_id)
            self.session.vault.audit.append("disconnect", revoked=revoked, deleted_data=delete_data)
        return revoked


def _delete_source_data(conn: Any, source_id: int) -> None:
    records = "SELECT id FROM records WHERE source_id = ?"
    # Facts this source's records showed are shown by another source's record afterwards.
    keys = [
        row[0]
        for row in conn.execute(
            "SELECT DISTINCT fact_key FROM records WHERE source_id = ? AND fact_key IS NOT NULL",
            (source_id,),
        )
    ]
    conn.execute(f"UPDATE notes SET record_id = NULL WHERE record_id IN ({records})", (source_id,))
    conn.execute(f"DELETE FROM corrections WHERE record_id IN ({records})", (source_id,))
    conn.execute(f"DELETE FROM search_index WHERE rowid IN ({records})", (source_id,))
    conn.execute(f"DELETE FROM record_tags WHERE record_id IN ({records})", (source_id,))
    conn.execute(
        "DELETE FROM attachments WHERE raw_id IN "
        "(SELECT id FROM raw_resources WHERE source_id = ?)",
        (source_id,),
    )
    conn.execute("DELETE FROM records WHERE source_id = ?", (source_id,))
    conn.execute("DELETE FROM raw_resources WHERE source_id = ?", (source_id,))
    fact_links.unlink_orphans(conn)
    fact_links.relink(conn, keys)


def _stored(tokens: TokenSet) -> StoredTokens:
    return StoredTokens(
        tokens.access_token, tokens.refresh_token, tokens.expires_at, tokens.id_token
    )


__all__ = [
    "ConnectionService",
    "ConnectionStatus",
    "SyncError",
]
