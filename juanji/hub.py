"""Downloading and caching pretrained weights, as ``torch.hub`` does it.

Where files are looked for, in order:

1. ``$TORCH_HOME/hub/checkpoints`` (default ``$XDG_CACHE_HOME/torch/hub/checkpoints``, else
   ``~/.cache/torch/hub/checkpoints``): torchvision's cache, so weights a user already has
   from torchvision are used as they are, with no download;
2. ``$JUANJI_HOME/checkpoints`` (default ``~/.cache/juanji/checkpoints``).

A file not found is downloaded (with a progress bar on stderr) into ``$JUANJI_HOME/checkpoints``
when ``JUANJI_HOME`` is set, else into torch's cache, and its SHA-256 is checked against the
hash prefix in its name (``resnet18-f37072fd.pth``: the digest starts with ``f37072fd``); as in
torch.hub, a file already in a cache directory is used without hashing it again.
``mirror=`` or the environment variable ``JUANJI_WEIGHTS_MIRROR`` gives a base URL (``http://``,
``https://`` or ``file://``) that serves the same file names, for machines without access to
the original host. Offline, the error names the file and where to put it.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import sys
import tempfile
import urllib.parse

# (urllib.request and urllib.error are imported where a download happens: together with
# http.client they cost ~0.1 s, which `import juanji` should not pay)

__all__ = ["get_dir", "juanji_dir", "checkpoint_dirs", "load_state_dict_from_url", "download_url_to_file",
           "MIRROR_ENV"]

MIRROR_ENV = "JUANJI_WEIGHTS_MIRROR"
HASH_REGEX = re.compile(r"-([a-f0-9]*)\.")  # torch.hub's: the hash prefix in a file name


def get_dir() -> str:
    """torch.hub's directory: ``$TORCH_HOME/hub`` (``~/.cache/torch/hub`` by default)."""
    torch_home = os.environ.get("TORCH_HOME")
    if not torch_home:
        cache = os.environ.get("XDG_CACHE_HOME") or os.path.join("~", ".cache")
        torch_home = os.path.join(cache, "torch")
    return os.path.join(os.path.expanduser(torch_home), "hub")


def juanji_dir() -> str:
    """juanji's own directory: ``$JUANJI_HOME`` (``~/.cache/juanji`` by default)."""
    home = os.environ.get("JUANJI_HOME") or os.path.join("~", ".cache", "juanji")
    return os.path.expanduser(home)


def checkpoint_dirs(model_dir=None) -> list:
    """Where weights files are looked for, in order (``model_dir`` alone if given)."""
    if model_dir is not None:
        return [os.fspath(model_dir)]
    return [os.path.join(get_dir(), "checkpoints"), os.path.join(juanji_dir(), "checkpoints")]


def _download_dir(model_dir=None) -> str:
    if model_dir is not None:
        return os.fspath(model_dir)
    if os.environ.get("JUANJI_HOME"):
        return os.path.join(juanji_dir(), "checkpoints")
    return os.path.join(get_dir(), "checkpoints")


def _progress_bar(total, stream=None):
    """A small text progress bar: ``update(n)`` after each chunk, ``close()`` at the end."""
    stream = stream or sys.stderr

    class Bar:
        done = 0

        def update(self, n):
            self.done += n
            if total:
                filled = int(30 * self.done / total)
                stream.write(f"\r[{'#' * filled}{'.' * (30 - filled)}] {self.done / 2**20:.1f}/"
                             f"{total / 2**20:.1f} MiB")
            else:
                stream.write(f"\r{self.done / 2**20:.1f} MiB")
            stream.flush()

        def close(self):
            stream.write("\n")
            stream.flush()

    return Bar()


def download_url_to_file(url: str, dst, hash_prefix: str | None = None, progress: bool = True) -> None:
    """Download ``url`` to ``dst`` (through a temporary file in the same folder, renamed when
    complete), checking that the SHA-256 digest starts with ``hash_prefix`` if given."""
    from urllib.request import urlopen
    dst = os.path.expanduser(os.fspath(dst))
    folder = os.path.dirname(os.path.abspath(dst))
    os.makedirs(folder, exist_ok=True)
    digest = hashlib.sha256()
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".partial-")
    try:
        with os.fdopen(fd, "wb") as out, urlopen(url, timeout=60) as response:
            total = response.headers.get("Content-Length") if hasattr(response, "headers") else None
            bar = _progress_bar(int(total) if total else None) if progress else None
            while True:
                chunk = response.read(1 << 20)
                if not chunk:
                    break
                out.write(chunk)
                digest.update(chunk)
                if bar is not None:
                    bar.update(len(chunk))
            if bar is not None:
                bar.close()
        if hash_prefix is not None:
            found = digest.hexdigest()
            if not found.startswith(hash_prefix):
                raise RuntimeError(f"juanji.hub: invalid hash value for {url}: expected a SHA-256 starting with "
                                   f'"{hash_prefix}", got "{found[:len(hash_prefix)]}" (file discarded)')
        shutil.move(tmp, dst)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def _source_url(url: str, file_name: str, mirror) -> str:
    mirror = mirror if mirror is not None else os.environ.get(MIRROR_ENV)
    if not mirror:
        return url
    return mirror.rstrip("/") + "/" + urllib.parse.quote(file_name)


def cached_file(url: str, model_dir=None, progress: bool = True, check_hash: bool = False,
                file_name: str | None = None, mirror: str | None = None) -> str:
    """The local path of the weights at ``url``: found in the cache directories, or downloaded."""
    file_name = file_name or os.path.basename(urllib.parse.urlparse(url).path)
    match = HASH_REGEX.search(file_name)
    hash_prefix = match.group(1) if check_hash and match else None
    dirs = checkpoint_dirs(model_dir)
    for folder in dirs:
        path = os.path.join(folder, file_name)
        if os.path.isfile(path):  # as torch.hub: a cached file is trusted (hashes are checked on download)
            return path
    target = os.path.join(_download_dir(model_dir), file_name)
    source = _source_url(url, file_name, mirror)
    if progress:
        sys.stderr.write(f'Downloading: "{source}" to {target}\n')
    from urllib.error import URLError
    try:
        download_url_to_file(source, target, hash_prefix, progress=progress)
    except (URLError, OSError, ValueError) as e:
        reason = getattr(e, "reason", None) or e
        raise RuntimeError(
            f"juanji.hub: could not download {source} ({reason}). Without network access, put the file "
            f"{file_name} into {dirs[0]}" + (f" or {dirs[1]}" if len(dirs) > 1 else "")
            + f", or set {MIRROR_ENV} to a URL (http://, https:// or file://) of a folder that holds it") from None
    return target


def load_state_dict_from_url(url: str, model_dir=None, map_location=None, progress: bool = True,
                             check_hash: bool = False, file_name: str | None = None, weights_only: bool = True,
                             mirror: str | None = None):
    """torch.hub.load_state_dict_from_url: the object in the (cached or downloaded) file at
    ``url``, read by :func:`juanji.load` (torch's zip and legacy formats, juanji's own)."""
    from .serialization import load
    path = cached_file(url, model_dir, progress, check_hash, file_name, mirror)
    return load(path, map_location=map_location, weights_only=weights_only)
