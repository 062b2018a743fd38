"""Real protocol peers on loopback that the telemetry is proven against."""
