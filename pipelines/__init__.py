"""Prefect flows, one per stage (ingest, score, publish) and the chains (nightly, rerun).

Importing the package sets Prefect defaults for machines with no internet, before any
flow starts the temporary API server (a subprocess that inherits the environment), so
that the CLI, the benchmarks and the tests all run the same way.
"""

import os

# The machines running the nightly job have no internet: Prefect's temporary server must
# not try to phone home (it logs an error per attempt otherwise).
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")
# On a busy 2-core machine the temporary API can take well over Prefect's default to start.
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "300")
