"""Sign-in hardening around allauth: the second factor on privileged pages, the idle timeout,
re-authentication before policy edits, and log lines scrubbed of email-link tokens
(docs/security.md)."""
