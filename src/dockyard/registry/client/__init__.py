"""The distribution API client: endpoints and daemon.json, auth, retries, blobs, manifests.

``session.RegistryClient`` opens ``repository.Repository`` objects; ``transport`` is the
only module that sees aiohttp's exceptions.
"""
