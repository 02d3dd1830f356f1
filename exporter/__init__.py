"""The probing exporter: probes every server the portal lists, exposes Prometheus metrics.

config (env, once) -> discovery (portal SD + Redis notices) -> scheduler (one task per
server, spread phases) -> probes/ (one module per kind) -> metrics (/metrics text) and
publish (Redis, for the portal). http_server serves /metrics, /probe and /healthz;
service wires it together. See exporter/README.md.
"""
