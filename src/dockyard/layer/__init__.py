"""Layer changesets: tar streams with OCI whiteouts, unpacked safely or packed from overlayfs.

compression  detect, decompress and compress layer blobs (gzip via ISA-L, zstd)
tarstream    a fast forward-only tar reader
tarheader    tar entry headers built as bytes (what tarfile writes, faster)
safepath     resolve archive paths inside the layer directory like a chroot
unpack       tar -> overlay-ready layer directory (whiteout devices, opaque xattrs)
pack         overlay upperdir or any tree -> tar
shared       commit's packer writing half the small files of the layer it packs
changes      docker diff of an upperdir against its lower layers
"""

from dockyard.layer.changes import Change, upper_changes
from dockyard.layer.compression import (
    Compression,
    detect_compression,
    open_compressor,
    open_decompressed,
)
from dockyard.layer.pack import write_dir_tar, write_upper_tar
from dockyard.layer.unpack import UnpackStats, unpack_layer

__all__ = [
    "Change",
    "Compression",
    "UnpackStats",
    "detect_compression",
    "open_compressor",
    "open_decompressed",
    "unpack_layer",
    "upper_changes",
    "write_dir_tar",
    "write_upper_tar",
]
