"""The audit trail: the hash chain, its verification, the CSV export and its view."""
