"""FHIR JSON read exactly, FHIR collection and IPS document exports."""
