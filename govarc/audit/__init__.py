"""The tamper-evident audit trail: events in a hash chain, anchored by signed checkpoints (specs/audit-log.md)."""
