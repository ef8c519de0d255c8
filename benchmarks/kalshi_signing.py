"""What signing one Kalshi request costs: kalshi-python's own path against ours.

kalshi-python 2.1.4 loads (and validates) the PEM key inside every request's
signing; the adapter's client loads it once. Both produce the same headers.
Prints the median CPU milliseconds per signed request over 50 requests.

    .venv/bin/python benchmarks/kalshi_signing.py
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from kalshi_python import KalshiClient
from kalshi_python.configuration import Configuration

from brokers.kalshi import _KeyOnceKalshiClient

ROUNDS = 50


def per_request_ms(client: KalshiClient) -> float:
    samples = []
    for _ in range(ROUNDS):
        headers: dict[str, str] = {}
        started = time.process_time()
        client.update_params_for_auth(headers, [], [], "/portfolio/balance", "GET", None)
        samples.append((time.process_time() - started) * 1000)
        assert headers["KALSHI-ACCESS-SIGNATURE"]
    return statistics.median(samples)


def main() -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    configuration = Configuration(host="http://127.0.0.1:1/trade-api/v2")
    configuration.api_key_id = "benchmark"
    configuration.private_key_pem = pem
    sdk = per_request_ms(KalshiClient(configuration))
    ours = per_request_ms(_KeyOnceKalshiClient(configuration))
    print(f"kalshi-python signing: {sdk:.2f} ms CPU per request (median of {ROUNDS})")
    print(f"key loaded once:       {ours:.2f} ms CPU per request ({sdk / ours:.0f}x less)")
    print(f"at Kalshi's 10 writes/s + 20 reads/s: {30 * sdk / 1000:.2f} vs {30 * ours / 1000:.3f} CPU cores")


if __name__ == "__main__":
    main()
