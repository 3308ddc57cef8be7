"""Image transports: the local store, docker-archive, OCI layout, registries."""
