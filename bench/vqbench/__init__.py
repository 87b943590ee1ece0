"""bench/vector_bench.py's parts: data, exact answers, server, sweeps, engines, report."""
