"""The checkpoint root: every path `/v1/checkpoint` writes and `/v1/load` reads lies under it.

A request's path is relative to the root (`run-1/step-4`) or absolute; either way it is resolved
with every symlink and `..` followed (`os.path.realpath`), and must then lie strictly inside the
root's own real path. So `../x`, `/etc`, and a symlink inside the root that points out of it are all
refused (400 `path_outside_root`), and nothing is created before the check.

Limits: a path is checked when the request arrives; someone who can write inside the root could
swap a directory for a symlink between the check and the write. The root is the trust boundary.
"""

from __future__ import annotations

import os
from pathlib import Path

from .errors import PathOutsideRootError


def default_checkpoint_dir() -> Path:
    """`MULTIGYM_CHECKPOINT_DIR`, else `$MULTIGYM_HOME/checkpoints`, else `./.multigym/checkpoints`
    (the CLI's project directory, `cli/context.ts`)."""
    explicit = os.environ.get("MULTIGYM_CHECKPOINT_DIR")
    if explicit:
        return Path(explicit)
    return Path(os.environ.get("MULTIGYM_HOME") or ".multigym") / "checkpoints"


class CheckpointRoot:
    """The directory checkpoint paths are confined to (created on the first save, not at start)."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(os.path.realpath(Path(root).expanduser()))

    def resolve(self, path: str, field: str = "path") -> Path:
        """The real absolute path of `path` (relative to the root, or absolute).

        Raises:
            PathOutsideRootError: `path` is empty, holds a NUL byte, is the root itself, or resolves
                outside the root.
        """
        if not path or "\x00" in path:
            raise PathOutsideRootError(f"{field}: give a directory name under {self.root}", field)
        candidate = Path(path) if Path(path).is_absolute() else self.root / path
        real = Path(os.path.realpath(candidate))
        if real == self.root or not real.is_relative_to(self.root):
            raise PathOutsideRootError(
                f"{field}: {path!r} resolves to {real}, outside the checkpoint root {self.root}; give a "
                f"path under the root (relative paths are taken from it) or restart the worker with "
                f"--checkpoint-dir covering it",
                field,
            )
        return real

    def relative(self, path: Path) -> str:
        """`path` (already resolved) relative to the root, for logs and `/v1/info`."""
        return str(path.relative_to(self.root))
