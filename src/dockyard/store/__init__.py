"""The engine's local state: blobs, unpacked layers, images, tags (containers, volumes later)."""
