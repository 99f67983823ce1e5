"""Test-only infrastructure: doubles for the stores and helper processes the tests start."""
