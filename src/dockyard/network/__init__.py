"""Container networking: published ports (``-p``) and the proxy that serves them."""
