"""Operations: request ids and JSON logs, Prometheus metrics, the health check, gunicorn set-up.

Modules: logs (formatter, request-id context; no Django imports, gunicorn's master uses it), middleware
(one JSON line and one latency observation per request), metrics (the Prometheus metrics and git hooks),
views (/-/health, /-/metrics), server (gunicorn helpers: worker sizing, metrics directory, banner).
"""
