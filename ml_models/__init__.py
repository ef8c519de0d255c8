"""Machine-learning foundations: features from bars, labels, and leakage-safe validation splits.

Pure code: bars in, arrays and frames out; no I/O, no clock reads.
"""
