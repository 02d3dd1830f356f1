"""The alerting pipeline watching itself: component heartbeats, the Watchdog, and the
reconciler that heals incidents the webhook left wrong."""
