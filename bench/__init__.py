"""Benchmarks and independent measurements of talkies (not part of the installed package)."""
