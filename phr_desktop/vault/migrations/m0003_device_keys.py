"""Schema 3: a connection's Epic-style dynamic client (device key + JWT bearer grant), if any."""

SQL = """
ALTER TABLE connections ADD COLUMN dynamic_client_id TEXT;  -- the id the provider registered
ALTER TABLE connections ADD COLUMN device_key TEXT;         -- its private JWK (JSON); vault only
"""
