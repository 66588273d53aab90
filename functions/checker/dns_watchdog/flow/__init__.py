"""The run: orders the steps of a check; imports the domain, the renderers and the adapters."""
