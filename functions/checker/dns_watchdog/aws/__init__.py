"""Adapters: the only code that talks to AWS; each takes an injectable client."""
