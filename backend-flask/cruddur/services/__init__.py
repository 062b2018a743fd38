"""One service per endpoint: plain classes with a static `run`, as in the week-2 journal."""
