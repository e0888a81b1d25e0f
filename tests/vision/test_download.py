"""Dataset downloads against a real HTTP server on 127.0.0.1 that serves IDX files written here."""

import functools
import hashlib
import http.server
import os
import socket
import threading

import numpy as np
import pytest

from juanji.vision.datasets import MNIST, ChecksumError, DownloadError, write_idx
from juanji.vision.datasets._download import MIRROR_ENV, download_resources, parse_checksum

FILES = ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz",
         "t10k-labels-idx1-ubyte.gz"]


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    requests = []

    def log_message(self, *args):
        pass

    def do_GET(self):
        type(self).requests.append(self.path)
        super().do_GET()


@pytest.fixture(autouse=True)
def no_proxy_no_mirror(monkeypatch):
    for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY", MIRROR_ENV):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")


@pytest.fixture
def served(tmp_path):
    """Four small IDX files served over HTTP: yields (base_url, folder, arrays, request_log)."""
    folder = tmp_path / "served"
    folder.mkdir()
    rng = np.random.default_rng(0)
    arrays = {
        "train-images-idx3-ubyte.gz": rng.integers(0, 256, (20, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte.gz": rng.integers(0, 10, 20, dtype=np.uint8),
        "t10k-images-idx3-ubyte.gz": rng.integers(0, 256, (6, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte.gz": rng.integers(0, 10, 6, dtype=np.uint8),
    }
    for name, arr in arrays.items():
        write_idx(folder / name, arr)
    handler = type("Handler", (_QuietHandler,), {"requests": []})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(handler, directory=str(folder)))
    server.timeout = 5
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", folder, arrays, handler.requests
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def _digests(folder, algorithm):
    return [(name, f"{algorithm}:" + hashlib.new(algorithm, (folder / name).read_bytes()).hexdigest())
            for name in FILES]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _dataset_class(resources, mirrors=()):
    # the canonical checksums cannot match test files: a subclass carries its own table
    return type("TinyMNIST", (MNIST,), {"resources": resources, "mirrors": list(mirrors)})


@pytest.mark.parametrize("algorithm", ["md5", "sha256"])
def test_download_with_mirror_argument_fetches_checks_and_loads(served, tmp_path, algorithm):
    base, folder, arrays, requests = served
    cls = _dataset_class(_digests(folder, algorithm))
    ds = cls(str(tmp_path / "root"), download=True, mirror=base)
    raw = tmp_path / "root" / "TinyMNIST" / "raw"
    assert sorted(os.listdir(raw)) == sorted(FILES)  # no .part files left behind
    assert sorted(requests) == sorted("/" + f for f in FILES)
    np.testing.assert_array_equal(ds.data.numpy(), arrays["train-images-idx3-ubyte.gz"])
    assert ds.targets.tolist() == arrays["train-labels-idx1-ubyte.gz"].tolist()
    test = cls(str(tmp_path / "root"), train=False, download=True, mirror=base)
    assert len(test) == 6 and len(requests) == 4  # already there and intact: nothing fetched again


def test_download_takes_the_mirror_from_the_environment(served, tmp_path, monkeypatch):
    base, folder, arrays, requests = served
    monkeypatch.setenv(MIRROR_ENV, base)
    cls = _dataset_class(_digests(folder, "md5"), mirrors=["http://127.0.0.1:1/never-used/"])
    ds = cls(str(tmp_path), download=True)
    assert len(ds) == 20 and len(requests) == 4


def test_mirror_argument_wins_over_the_environment(served, tmp_path, monkeypatch):
    base, folder, _, requests = served
    monkeypatch.setenv(MIRROR_ENV, f"http://127.0.0.1:{_free_port()}/")
    cls = _dataset_class(_digests(folder, "md5"))
    assert len(cls(str(tmp_path), download=True, mirror=base)) == 20


def test_a_dead_default_mirror_falls_back_to_the_next(served, tmp_path):
    base, folder, _, _ = served
    cls = _dataset_class(_digests(folder, "md5"), mirrors=[f"http://127.0.0.1:{_free_port()}/", base])
    assert len(cls(str(tmp_path), download=True)) == 20


def test_checksum_mismatch_is_clear_and_removes_the_file(served, tmp_path):
    base, folder, _, _ = served
    resources = _digests(folder, "md5")
    resources[0] = (resources[0][0], "0" * 32)
    cls = _dataset_class(resources)
    with pytest.raises(ChecksumError) as excinfo:
        cls(str(tmp_path), download=True, mirror=base)
    message = str(excinfo.value)
    assert "\n" not in message
    assert f"checksum mismatch for {base}train-images-idx3-ubyte.gz: expected md5 {'0' * 32}" in message
    assert "the file was removed" in message and "mirror= argument" in message
    raw = tmp_path / "TinyMNIST" / "raw"
    assert not (raw / "train-images-idx3-ubyte.gz").exists()
    assert not any(name.endswith(".part") for name in os.listdir(raw))
    assert isinstance(excinfo.value, RuntimeError)


def test_a_server_that_is_not_there_names_the_url_and_the_mirror_setting(tmp_path, monkeypatch):
    dead = f"http://127.0.0.1:{_free_port()}/data/"
    cls = _dataset_class([(FILES[0], "0" * 32)])
    with pytest.raises(DownloadError) as excinfo:
        cls(str(tmp_path), download=True, mirror=dead)
    message = str(excinfo.value)
    assert "\n" not in message
    assert f"{dead}train-images-idx3-ubyte.gz" in message
    assert "from the mirror= argument" in message and MIRROR_ENV in message
    monkeypatch.setenv(MIRROR_ENV, dead)
    with pytest.raises(DownloadError, match=f"from the environment variable {MIRROR_ENV}"):
        cls(str(tmp_path), download=True)


def test_a_missing_file_on_the_server_reports_the_http_error(served, tmp_path):
    base, folder, _, _ = served
    cls = _dataset_class([("not-there.gz", "0" * 32)])
    with pytest.raises(DownloadError, match=r"not-there\.gz .*404"):
        cls(str(tmp_path), download=True, mirror=base)


def test_no_mirror_at_all_is_an_error():
    with pytest.raises(DownloadError, match="no mirror to download from"):
        download_resources("X download", [(FILES[0], None)], "/nonexistent", default_mirrors=())


@pytest.mark.parametrize("text, expected", [
    ("d41d8cd98f00b204e9800998ecf8427e", ("md5", "d41d8cd98f00b204e9800998ecf8427e")),
    ("MD5:D41D8CD98F00B204E9800998ECF8427E", ("md5", "d41d8cd98f00b204e9800998ecf8427e")),
    ("sha256:" + "a" * 64, ("sha256", "a" * 64)),
    ("b" * 64, ("sha256", "b" * 64)),
])
def test_checksums_are_md5_or_sha256(text, expected):
    assert parse_checksum(text) == expected


@pytest.mark.parametrize("text", ["abc", "sha1:" + "a" * 40, "md5:" + "a" * 64])
def test_malformed_checksums_are_refused(text):
    with pytest.raises(ValueError, match="expected 'md5:<32 hex>'"):
        parse_checksum(text)
