"""The engine: the operations the CLI (and later an API) call, one module per concern."""
