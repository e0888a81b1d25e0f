"""Writing a file all at once: the reader sees the old file or the whole new one, never a part.

One writer for everything juanji saves (``juanji.save``, ``juanji.safetensors.save_file``,
training checkpoints, metrics, pictures): write into a temporary file beside the target, fsync it,
rename it over the target, fsync the folder. A crash midway leaves a ``TEMP_PREFIX`` file, which
``juanji train`` removes when it resumes (training/run_folder.py).
"""

from __future__ import annotations

import os
import tempfile

__all__ = ["TEMP_PREFIX", "atomic_write", "atomic_write_bytes"]

TEMP_PREFIX = ".tmp-"


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write(f, write, before_rename=None) -> None:
    """``write(stream)`` into ``f``: a file object is written directly (the caller owns it); a path
    is replaced all at once (temporary file, fsync, rename, fsync the folder).

    ``before_rename(path)`` runs once the temporary file is complete (the training loop's
    ``before_checkpoint_rename`` callbacks; the kill tests stop a process there).
    """
    if hasattr(f, "write"):
        write(f)
        return
    path = os.fspath(f)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=TEMP_PREFIX, suffix=".part")
    try:
        os.fchmod(fd, 0o666 & ~_current_umask())  # mkstemp makes 0600; give the usual permissions
        with os.fdopen(fd, "wb") as out:
            write(out)
            out.flush()
            os.fsync(out.fileno())
        if before_rename is not None:
            before_rename(path)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    # make the rename itself durable (the folder entry), where the platform allows it
    try:
        dir_fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)


def atomic_write_bytes(path, data: bytes, before_rename=None) -> None:
    """Replace ``path`` with ``data`` all at once (see :func:`atomic_write`)."""
    atomic_write(path, lambda stream: stream.write(data), before_rename=before_rename)
