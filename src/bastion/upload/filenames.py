"""What a distribution's filename must look like before the index will store it.

The filename is part of a file's identity forever (it is reserved even after deletion), and it
becomes a path on disk, so the rules are strict: PEP 427 wheels and PEP 625 sdists in exactly the
form today's build tools produce, with the platform tags PyPI accepts.
"""

import re

from packaging.utils import InvalidWheelFilename, canonicalize_name, parse_wheel_filename
from packaging.version import Version

from bastion.upload.errors import UploadRejected

MAX_FILENAME_LENGTH = 255  # File.filename

_EXTENSIONS = {"sdist": (".tar.gz", ".zip"), "bdist_wheel": (".whl",)}

_STATIC_PLATFORMS = frozenset(
    {
        "any", "win32", "win_arm64", "win_amd64", "win_ia64",
        "manylinux1_x86_64", "manylinux1_i686", "manylinux2010_x86_64", "manylinux2010_i686",
        "manylinux2014_x86_64", "manylinux2014_i686", "manylinux2014_aarch64",
        "manylinux2014_armv7l", "manylinux2014_ppc64", "manylinux2014_ppc64le",
        "manylinux2014_s390x", "linux_armv6l", "linux_armv7l",
    }
)  # fmt: skip
_MACOS = re.compile(r"macosx_(?P<major>\d+)_(?P<minor>\d+)_(?P<arch>.+)")
_MACOS_ARCHES = frozenset(
    {"ppc", "ppc64", "i386", "x86_64", "arm64", "intel", "fat", "fat3", "fat32", "fat64",
     "universal", "universal2"}
)  # fmt: skip
#: macOS 11 and later version by major number only, so their minor must be 0.
_MACOS_MAJORS = frozenset({"11", "12", "13", "14", "15", "26"})
_LINUX = re.compile(r"(?P<libc>many|musl)linux_\d+_\d+_(?P<arch>.+)")
_LINUX_ARCHES = frozenset({"x86_64", "i686", "aarch64", "armv7l", "ppc64le", "s390x", "riscv64"})
_MANYLINUX_ONLY_ARCHES = frozenset({"ppc64"})
_IOS = re.compile(r"ios_\d+_\d+_(?P<arch>.+)_(iphoneos|iphonesimulator)")
_IOS_ARCHES = frozenset({"arm64", "x86_64"})
_ANDROID = re.compile(r"android_\d+_(?P<arch>.+)")
_ANDROID_ARCHES = frozenset({"armeabi_v7a", "arm64_v8a", "x86", "x86_64"})
_PYEMSCRIPTEN = re.compile(r"pyemscripten_\d+_\d+_wasm32")


def is_allowed_platform(tag: str) -> bool:
    """PyPI's allow-list: tags an installer can match to a real platform (not ``linux_x86_64``)."""
    if tag in _STATIC_PLATFORMS or _PYEMSCRIPTEN.fullmatch(tag):
        return True
    if match := _MACOS.fullmatch(tag):
        major, minor, arch = match["major"], match["minor"], match["arch"]
        return arch in _MACOS_ARCHES and (
            major == "10" or (major in _MACOS_MAJORS and minor == "0")
        )
    if match := _LINUX.fullmatch(tag):
        arches = _LINUX_ARCHES | (_MANYLINUX_ONLY_ARCHES if match["libc"] == "many" else set())
        return match["arch"] in arches
    if match := _IOS.fullmatch(tag):
        return match["arch"] in _IOS_ARCHES
    if match := _ANDROID.fullmatch(tag):
        return match["arch"] in _ANDROID_ARCHES
    return False


def check_characters(filename: str) -> None:
    """No control character and no path in a name (also checked on the name as sent, which
    the multipart parser would otherwise cut and clean quietly)."""
    if any(ord(char) < 32 or ord(char) == 127 for char in filename):
        raise UploadRejected(
            400,
            "Cannot upload a file with non-printable characters (ordinals 0-31) "
            "or the DEL character (ordinal 127) in the name.",
        )
    if "/" in filename or "\\" in filename:
        raise UploadRejected(400, "Cannot upload a file with '/' or '\\' in the name.")


def check_safe(filename: str, filetype: str) -> None:
    """A name that is safe to store and serve, with the extension its file type needs."""
    check_characters(filename)
    if ".." in filename or filename.startswith("."):
        raise UploadRejected(
            400, "Cannot upload a file whose name starts with '.' or contains '..'."
        )
    if len(filename) > MAX_FILENAME_LENGTH:
        raise UploadRejected(
            400, f"Cannot upload a file whose name is longer than {MAX_FILENAME_LENGTH} characters."
        )
    if not filename.endswith(_EXTENSIONS[filetype]):
        raise UploadRejected(
            400,
            f"Invalid file extension: '{filename}' is not valid for filetype {filetype}; use "
            f"{' or '.join(_EXTENSIONS[filetype])}. See https://peps.python.org/pep-0527/ "
            "for more information.",
        )


def expected_sdist_filename(name: str, version: Version) -> str:
    """PEP 625: the normalized name with ``_``, the normalized version, ``.tar.gz``."""
    return f"{canonicalize_name(name).replace('-', '_')}-{version}.tar.gz"


def check_sdist(filename: str, name: str, version: Version) -> None:
    expected = expected_sdist_filename(name, version)
    if filename != expected:
        raise UploadRejected(400, f"Filename '{filename}' is invalid, should be '{expected}'.")


def check_wheel(filename: str, name: str, version: Version) -> None:
    """PEP 427 in the producer-side form: normalized name, matching version, allowed platforms."""
    try:
        _, wheel_version, _, tags = parse_wheel_filename(filename)
    except InvalidWheelFilename as exc:
        raise UploadRejected(400, f"Invalid wheel filename: {exc}") from exc
    expected_name = canonicalize_name(name).replace("-", "_")
    given_name = filename.split("-", 1)[0]
    if given_name != expected_name:
        raise UploadRejected(
            400,
            f"Filename '{filename}' should contain the normalized project name "
            f"'{expected_name}', not '{given_name}'.",
        )
    if wheel_version != version:
        raise UploadRejected(
            400, f"Version in filename should be '{version}' not '{wheel_version}'."
        )
    for tag in sorted({tag.platform for tag in tags}):
        if not is_allowed_platform(tag):
            raise UploadRejected(
                400, f"Binary wheel '{filename}' has an unsupported platform tag '{tag}'."
            )
