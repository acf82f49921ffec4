"""What ops see: Prometheus metrics, OpenTelemetry traces, structured logs, the attention list."""
