"""The registry: the distribution API client and the server."""
