"""Time-series sinks fed from the log (InfluxDB bars and metrics)."""
