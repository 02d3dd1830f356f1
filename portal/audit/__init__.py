"""The audit trail: every security-relevant event, append-only and hash-chained
(docs/design.md#audit-trail)."""
