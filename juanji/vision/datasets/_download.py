"""Fetching dataset files over HTTP(S) with urllib, checked against known MD5/SHA256 digests.

Where the files come from, first match wins:

1. the ``mirror=`` argument of the dataset (a base URL such as ``https://example.org/mnist/``),
2. the environment variable ``JUANJI_DATASET_MIRROR`` (a base URL),
3. the dataset class's own ``mirrors`` list (the canonical hosts, tried in order).

A file is downloaded to ``<name>.part`` and renamed only once its digest matches, so a broken
download never leaves a file that looks complete. A digest mismatch removes the file and says
which URL served it.
"""

from __future__ import annotations

import hashlib
import os
import socket
import tarfile
import urllib.error
import urllib.request

__all__ = ["MIRROR_ENV", "DownloadError", "ChecksumError", "resolve_mirrors", "parse_checksum",
           "file_digest", "check_integrity", "download_file", "download_resources", "extract_tar"]

MIRROR_ENV = "JUANJI_DATASET_MIRROR"
_CHUNK = 1 << 20


class DownloadError(RuntimeError):
    """A file could not be fetched (the message names the URL and where the mirror came from)."""

    def __init__(self, message: str, url: str | None = None, reason: str | None = None):
        super().__init__(message)
        self.url = url
        self.reason = reason


class ChecksumError(DownloadError):
    """A fetched file does not have the expected digest (the file has been removed)."""


def resolve_mirrors(mirror=None, default_mirrors=()) -> list[tuple[str, str]]:
    """The base URLs to try, each with a phrase saying where it came from (for error messages)."""
    if mirror:
        return [(str(mirror), "the mirror= argument")]
    env = os.environ.get(MIRROR_ENV, "").strip()
    if env:
        return [(env, f"the environment variable {MIRROR_ENV}")]
    return [(m, "the default mirrors") for m in default_mirrors]


def parse_checksum(checksum: str) -> tuple[str, str]:
    """``'md5:<hex>'``, ``'sha256:<hex>'`` or a bare hex digest (32 digits: MD5, 64: SHA256)."""
    text = checksum.strip().lower()
    if ":" in text:
        algorithm, digest = text.split(":", 1)
    else:
        algorithm = {32: "md5", 64: "sha256"}.get(len(text), "")
        digest = text
    if algorithm not in ("md5", "sha256") or len(digest) != hashlib.new(algorithm).digest_size * 2:
        raise ValueError(f"checksum '{checksum}': expected 'md5:<32 hex>', 'sha256:<64 hex>' or a bare digest")
    return algorithm, digest


def file_digest(path, algorithm: str) -> str:
    h = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(_CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()


def check_integrity(path, checksum=None) -> bool:
    """True when ``path`` is a file and (if a checksum is given) its digest matches."""
    if not os.path.isfile(path):
        return False
    if checksum is None:
        return True
    algorithm, digest = parse_checksum(checksum)
    return file_digest(path, algorithm) == digest


def _join(base: str, filename: str) -> str:
    return base.rstrip("/") + "/" + filename


def download_file(url: str, dest, checksum=None, timeout: float = 60.0, what: str = "download") -> None:
    """Fetch ``url`` to ``dest``; raise :class:`DownloadError` or :class:`ChecksumError` on failure."""
    dest = os.fspath(dest)
    part = dest + ".part"
    algorithm, expected = parse_checksum(checksum) if checksum is not None else ("sha256", None)
    digest = hashlib.new(algorithm)
    request = urllib.request.Request(url, headers={"User-Agent": "juanji"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response, open(part, "wb") as out:
            for chunk in iter(lambda: response.read(_CHUNK), b""):
                digest.update(chunk)
                out.write(chunk)
    except (urllib.error.URLError, socket.timeout, ConnectionError, OSError) as e:
        _remove(part)
        # "HTTP Error 404: File not found" for HTTP errors, the socket's reason for connection failures
        reason = e if isinstance(e, urllib.error.HTTPError) else getattr(e, "reason", None) or e
        raise DownloadError(f"{what}: could not fetch {url} ({reason})", url, str(reason)) from None
    got = digest.hexdigest()
    if expected is not None and got != expected:
        _remove(part)
        raise ChecksumError(f"{what}: checksum mismatch for {url}: expected {algorithm} {expected}, got {got}; "
                            f"the file was removed", url, "checksum mismatch")
    os.replace(part, dest)


def _remove(path) -> None:
    try:
        os.remove(path)
    except FileNotFoundError:
        pass


def download_resources(what: str, resources, folder, mirror=None, default_mirrors=(), timeout: float = 60.0,
                       verbose: bool = True) -> None:
    """Download each ``(filename, checksum)`` of ``resources`` into ``folder`` unless already intact.

    Mirrors are tried in order for a file that cannot be fetched; a checksum mismatch stops at once
    (a server that sends wrong bytes is a problem to fix, not to paper over with the next mirror).
    """
    mirrors = resolve_mirrors(mirror, default_mirrors)
    if not mirrors:
        raise DownloadError(f"{what}: no mirror to download from: pass mirror= or set {MIRROR_ENV}")
    os.makedirs(folder, exist_ok=True)
    for filename, checksum in resources:
        dest = os.path.join(folder, filename)
        if check_integrity(dest, checksum):
            continue
        failures = []
        for base, source in mirrors:
            url = _join(base, filename)
            if verbose:
                print(f"Downloading {url}")
            try:
                download_file(url, dest, checksum, timeout=timeout, what=what)
                break
            except ChecksumError as e:
                raise ChecksumError(f"{e} (mirror {base!r} from {source})", e.url, e.reason) from None
            except DownloadError as e:
                failures.append((url, source, e.reason))
        else:
            tried = "; ".join(f"{url} [{detail}, from {source}]" for url, source, detail in failures)
            raise DownloadError(f"{what}: could not download {filename}: tried {tried}. Pass mirror= or set "
                                f"{MIRROR_ENV} to a base URL that serves {filename}")


def extract_tar(path, folder) -> None:
    """Unpack a (gzip) tar archive into ``folder``, refusing members that would land outside it,
    links that point outside it, and device files (tarfile's 'data' filter)."""
    with tarfile.open(path, "r:*") as archive:
        archive.extractall(folder, filter="data")
