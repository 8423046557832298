"""Test support: loopback servers, the fault proxy that plants vendor defects and the suite-run fixtures."""
