"""The audit trail (A5), in its own app: every app imports it, it imports none (DESIGN §2)."""
