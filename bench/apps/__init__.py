"""The benchmark's fixture apps: what Cruddur is measured against."""
