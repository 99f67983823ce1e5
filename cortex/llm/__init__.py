"""Talking to language models: routing, providers, and reading their answers."""
