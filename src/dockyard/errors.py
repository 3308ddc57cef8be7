"""The one exception tree of dockyard.

Every failure dockyard reports is a ``DockyardError``; foreign exceptions are
translated at the boundary where they occur (``raise X(...) from exc``).

    DockyardError                      exit 1 like docker's CLI; run/create/start exit 125
    ├── InvalidReference               a malformed image reference or name
    ├── InvalidDigest                  a malformed digest string
    ├── DigestMismatch                 content does not hash to what was promised
    ├── InvalidDocument                a malformed manifest, index, config or JSON body
    │   └── UnsupportedMediaType       a well-formed document of a kind we do not handle
    ├── InvalidArchive                 a truncated or malformed tar / archive
    │   └── UnsafeTarEntry             an entry that would escape its root
    ├── NotFound
    │   ├── ImageNotFound
    │   ├── BlobNotFound
    │   ├── ContainerNotFound
    │   └── VolumeNotFound
    ├── Conflict                       in use, already exists, ambiguous prefix
    ├── StoreError                     the local store is unusable
    ├── RegistryError(status, code)    a registry answered with an error
    │   └── AuthenticationFailed
    ├── ConfigError                    a bad configuration file or flag value
    │   └── UsageError                 a command line that does not parse
    ├── MonitorLost                    a container's monitor died under an attached client
    ├── AttachProtocolError            garbage on a container's attach socket
    └── OCIRuntimeFailed(argv, returncode, stderr)
        ├── ContainerCommandNotFound       exit 127, as docker
        └── ContainerCommandNotExecutable  exit 126, as docker

The registry server adds protocol errors (``registry.server.errors``: ApiError and the
storage conditions it maps to OCI error codes); they too derive from DockyardError.
"""

from __future__ import annotations


class DockyardError(Exception):
    """Root of every error dockyard raises on purpose."""

    exit_code: int = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message

    def with_context(self, context: str) -> DockyardError:
        """Prefix the message with where the failure happened; returns the same error."""
        self.message = f"{context}: {self.message}"
        self.args = (self.message,)
        return self


class InvalidReference(DockyardError):
    """An image reference or repository name that does not parse."""


class InvalidDigest(DockyardError):
    """A digest string that is not ``algorithm:hex`` of a known algorithm."""


class DigestMismatch(DockyardError):
    """Content whose digest differs from the one it was announced with."""

    def __init__(self, expected: str, actual: str, what: str = "content") -> None:
        super().__init__(f"{what} digest mismatch: expected {expected}, got {actual}")
        self.expected = expected
        self.actual = actual


class InvalidDocument(DockyardError):
    """A manifest, index, config or JSON body that fails validation."""


class UnsupportedMediaType(InvalidDocument):
    """A document of a media type dockyard does not handle (e.g. schema 1)."""


class InvalidArchive(DockyardError):
    """A tarball or image archive that is truncated or malformed."""


class UnsafeTarEntry(InvalidArchive):
    """A tar entry that would write outside the directory it is unpacked into."""


class NotFound(DockyardError):
    """Something named by the user does not exist."""


class ImageNotFound(NotFound):
    """No such image in the local store."""


class BlobNotFound(NotFound):
    """No such blob (layer, config or manifest) in a store or registry."""


class ContainerNotFound(NotFound):
    """No such container."""


class VolumeNotFound(NotFound):
    """No such volume."""


class Conflict(DockyardError):
    """The operation conflicts with current state (in use, exists, ambiguous)."""


class PortUnavailable(Conflict):
    """A host port to publish on is taken (or the address is not this host's)."""


class NetworkSetupFailed(DockyardError):
    """A container's network namespace could not be made (no CAP_SYS_ADMIN, say)."""


class StoreError(DockyardError):
    """The local store is damaged or cannot be opened."""


class ConfigError(DockyardError):
    """A configuration file, environment override or flag value is invalid."""


class FlagValueError(ConfigError):
    """A flag value docker's CLI refuses before it asks the daemon (a size, a --mount
    field): 125 for ``create`` too, whose other refusals exit 1."""

    exit_code = 125


class UserNotFound(ConfigError):
    """``-u`` names a user or group the container's passwd / group files do not have."""


class UsageError(ConfigError):
    """A command line that does not parse (an unknown flag, a missing argument): printed
    as docker prints it, without the ``Error:`` prefix; 125 for flags, 1 for arguments."""

    exit_code = 125

    def __init__(self, message: str, exit_code: int = 125) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class RegistryError(DockyardError):
    """A registry answered with an error status."""

    def __init__(self, message: str, status: int = 0, code: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.code = code


class AuthenticationFailed(RegistryError):
    """Credentials were refused or no token could be obtained."""


class OCIRuntimeFailed(DockyardError):
    """The OCI runtime (runc / crun) exited with an error."""

    def __init__(self, argv: list[str], returncode: int, stderr: str) -> None:
        super().__init__(f"OCI runtime failed: {stderr.strip() or f'exit status {returncode}'}")
        self.argv = argv
        self.returncode = returncode
        self.stderr = stderr


class ContainerCommandNotFound(OCIRuntimeFailed):
    """The container's command does not exist (docker exits 127)."""

    exit_code = 127


class ContainerCommandNotExecutable(OCIRuntimeFailed):
    """The container's command exists but cannot be executed (docker exits 126)."""

    exit_code = 126


class AttachProtocolError(DockyardError):
    """A peer on the attach socket sent something that is not a frame."""


class MonitorLost(DockyardError):
    """The container's monitor went away while a client was attached (it was killed)."""
