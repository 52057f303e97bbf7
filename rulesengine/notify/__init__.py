"""Notifications: events the engine records, queued in the journal's outbox and sent to the
`notify:` channels off the tick path (a background dispatcher with retries and backoff)."""
