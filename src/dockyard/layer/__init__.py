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
