"""Who downloaded a file: the installer named by a User-Agent, parsed the way PyPI's linehaul does.

pip (6 and later) and uv send ``<name>/<version> <JSON>``, and that JSON becomes the event's
``details`` as-is. Every other client is recognised by a small regular expression. An agent that
matches nothing is kept with no installer, exactly as linehaul keeps ``details = NULL``.

The installer name then decides the *installer class*, which is what the critical-project ranking
cares about: only real installs count; mirrors, browsers and everything else are only displayed.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache


@dataclass(frozen=True)
class Installer:
    name: str
    version: str | None = None
    ci: bool | None = None


INSTALLER = "installer"
MIRROR = "mirror"
BROWSER = "browser"
OTHER = "other"
INSTALLER_CLASSES = (INSTALLER, MIRROR, BROWSER, OTHER)
# Not an installer's class but a source's: files Bastion served from its cache of the upstream
# index, by any client. They count the public projects an organisation installs, apart from the
# projects hosted here and from the critical ranking (which reads the installer class only).
UPSTREAM = "upstream"
UPSTREAM_SOURCE = "upstream"

# Names as they appear in ``details.installer.name`` of PyPI's ``file_downloads`` table.
INSTALLER_NAMES = (
    "pip", "uv", "poetry", "pdm", "pex", "conda", "setuptools", "distribute", "Bazel", "pipenv",
    "hatch",
)  # fmt: skip
# pypistats.org's mirror list plus the other mirroring proxies linehaul recognises.
MIRROR_NAMES = (
    "bandersnatch", "z3c.pypimirror", "Artifactory", "devpi", "Nexus", "pep381client",
)  # fmt: skip
BROWSER_NAMES = ("Browser",)


def installer_class(name: str | None) -> str:
    """Map an installer name to the class the ranking uses; unknown agents are ``other``."""
    if name in INSTALLER_NAMES:
        return INSTALLER
    if name in MIRROR_NAMES:
        return MIRROR
    if name in BROWSER_NAMES:
        return BROWSER
    return OTHER


_JSON_AGENT = re.compile(r"^(?P<name>pip|uv)/(?P<version>\S+)\s+(?P<json>\{.*\})\s*$", re.DOTALL)
_VERSION = r"/(?P<version>[^\s;()/]+)"
# (pattern, installer name); the first match wins, so specific agents precede generic ones.
_REGEX_AGENTS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE), name)
    for pattern, name in (
        (r"^bandersnatch" + _VERSION, "bandersnatch"),
        (r"^devpi-server" + _VERSION, "devpi"),
        (r"^z3c\.pypimirror" + _VERSION, "z3c.pypimirror"),
        (r"^Artifactory" + _VERSION, "Artifactory"),
        (r"^Nexus" + _VERSION, "Nexus"),
        (r"^pep381client(?:-proxy)?" + _VERSION, "pep381client"),
        (r"^pip" + _VERSION, "pip"),  # pip 1.4 to 6: "pip/1.5.6 CPython/2.7.6 Linux/3.13"
        (r"^uv" + _VERSION, "uv"),  # uv before 0.1.22 sent no JSON
        (r"^poetry" + _VERSION, "poetry"),
        (r"^pdm" + _VERSION, "pdm"),
        (r"^pipenv" + _VERSION, "pipenv"),
        (r"^hatch" + _VERSION, "hatch"),
        (r"^pex" + _VERSION, "pex"),
        (r"^conda" + _VERSION, "conda"),
        (r"^Bazel/(?:release\s+)?(?P<version>[^\s;()/]+)", "Bazel"),
        (r"^setuptools" + _VERSION, "setuptools"),
        (r"^Python-urllib/[^\s]+\s+distribute" + _VERSION, "distribute"),
        (r"^maturin" + _VERSION, "maturin"),
        (r"^twine" + _VERSION, "twine"),
        (r"^Homebrew" + _VERSION, "Homebrew"),
        (r"^(?:APT-HTTP|Debian APT-HTTP|Wget|libdnf|dnf|yum|zypper)" + _VERSION, "OS"),
        (r"^python-requests" + _VERSION, "requests"),
        (r"^Python-urllib" + _VERSION, "Python-urllib"),
        (r"^python-httpx" + _VERSION, "httpx"),
        (r"^aiohttp" + _VERSION, "aiohttp"),
        (r"^curl" + _VERSION, "curl"),
        (r"^Mozilla/5\.0 .*(?:Firefox|Chrome|Safari|Edg|OPR)" + _VERSION, "Browser"),
    )
)


@lru_cache(maxsize=4096)
def parse_user_agent(user_agent: str | None) -> Installer | None:
    """The installer behind a User-Agent, or None when no parser recognises it.

    Cached: a busy index sees the same few hundred agents over and over.
    """
    if not user_agent:
        return None
    agent = user_agent.strip()
    match = _JSON_AGENT.match(agent)
    if match:
        parsed = _parse_json_agent(match)
        if parsed is not None:
            return parsed
    for pattern, name in _REGEX_AGENTS:
        match = pattern.match(agent)
        if match:
            return Installer(name=name, version=match.group("version"))
    return None


def _parse_json_agent(match: re.Match[str]) -> Installer | None:
    """pip and uv describe themselves in JSON; trust its installer block, like linehaul does."""
    try:
        data = json.loads(match.group("json"))
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    installer = data.get("installer")
    installer = installer if isinstance(installer, dict) else {}
    name = installer.get("name")
    version = installer.get("version")
    return Installer(
        name=name if isinstance(name, str) else match["name"],
        version=version if isinstance(version, str) else match["version"],
        ci=True if data.get("ci") is True else None,
    )
