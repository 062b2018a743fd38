"""Issue 6's benchmark: what Cruddur's telemetry costs, side by side with bare Flask and the journal."""
