"""What checking every member of a large wheel costs an upload (issue 11, finding 10).

Builds a wheel of about ``--megabytes`` MiB in memory, nine tenths incompressible data (like
native libraries, so the file is about that large) and one tenth Python source, then times, each
``--repeat`` times (median wall and CPU time; CPU time is steadier on a busy machine):

- ``metadata only``: opening the zip and reading METADATA, what the upload did before;
- ``read_wheel``: the upload's archive check now, every member inflated once with its CRC-32
  and RECORD hash checked;
- ``upload digests``: md5, sha256 and blake2b-256 of the whole file, which every upload computes
  anyway, for scale.

Run from the repository root::

    .venv/bin/python bench/wheel_check.py --megabytes 50
"""

import argparse
import base64
import hashlib
import io
import os
import statistics
import time
import zipfile

from bastion.upload import archives

_DIST_INFO = "big-1.0.dist-info"


def build_wheel(megabytes: int) -> bytes:
    files: dict[str, bytes] = {}
    native = megabytes * 1024**2 * 9 // 10
    for index in range(max(1, native // (4 * 1024**2))):
        files[f"big/_native{index}.so"] = os.urandom(min(4 * 1024**2, native))
    source = b"def spam(eggs):\n    return [egg * 2 for egg in eggs if egg]\n" * 2000
    for index in range(megabytes * 1024**2 // 10 // len(source)):
        files[f"big/module{index}.py"] = source + str(index).encode()
    files[f"{_DIST_INFO}/METADATA"] = b"Metadata-Version: 2.1\nName: big\nVersion: 1.0\n\n"
    files[f"{_DIST_INFO}/WHEEL"] = b"Wheel-Version: 1.0\nTag: py3-none-any\n"
    lines = []
    for path, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        lines.append(f"{path},sha256={digest},{len(data)}")
    files[f"{_DIST_INFO}/RECORD"] = ("\n".join([*lines, f"{_DIST_INFO}/RECORD,,"]) + "\n").encode()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, data in files.items():
            archive.writestr(path, data)
    return buffer.getvalue()


def metadata_only(content: bytes) -> None:
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        archive.read(f"{_DIST_INFO}/METADATA")


def read_wheel(content: bytes) -> None:
    archives.read_wheel(io.BytesIO(content), len(content), "big", "1.0")


def upload_digests(content: bytes) -> None:
    for algorithm in (hashlib.md5, hashlib.sha256):
        algorithm(content).digest()
    hashlib.blake2b(content, digest_size=32).digest()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--megabytes", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    content = build_wheel(args.megabytes)
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        inflated = sum(member.file_size for member in archive.infolist())
        count = len(archive.infolist())
    print(
        f"wheel: {len(content) / 1024**2:.1f} MiB compressed, {inflated / 1024**2:.1f} MiB "
        f"inflated, {count} members; median of {args.repeat} runs"
    )
    for name, step in (
        ("metadata only", metadata_only),
        ("read_wheel", read_wheel),
        ("upload digests", upload_digests),
    ):
        wall, cpu = [], []
        for _ in range(args.repeat):
            start, start_cpu = time.perf_counter(), time.process_time()
            step(content)
            wall.append(time.perf_counter() - start)
            cpu.append(time.process_time() - start_cpu)
        median, median_cpu = statistics.median(wall), statistics.median(cpu)
        print(
            f"{name:>15}: {median * 1000:8.1f} ms wall, {median_cpu * 1000:8.1f} ms CPU "
            f"({inflated / 1024**2 / median_cpu:6.0f} MiB/s inflated per CPU second)"
        )


if __name__ == "__main__":
    main()
