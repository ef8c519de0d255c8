"""One module per Broker implementation; see tests/brokers/harness.py."""
