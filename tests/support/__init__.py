"""Test support: a fault proxy that plants vendor defects in front of the reference server."""
