"""Bench: build throughput, query latency, memory, the encoder against the machine's bound, the ways in
and the stores side by side (`reform-qa bench`)."""
