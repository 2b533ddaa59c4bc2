"""Inbound sources: CRMs and ticketing tools start a request with their own signed webhook
(docs/integrations.md, docs/api.md "Inbound sources")."""
