"""The image model: media types, manifests, indexes and configs. No disks, HTTP or processes."""
