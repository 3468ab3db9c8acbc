"""Sample projects built with the real ``python -m build``, as a user would build them."""

import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Built:
    name: str
    version: str
    wheel: Path
    sdist: Path


def build_project(root: Path, name: str, version: str, *, dependencies: list[str] = ()) -> Built:
    """Write a tiny pure-Python project and build its wheel and sdist offline."""
    module = name.replace("-", "_").lower()
    src = root / f"{module}-{version}"
    (src / module).mkdir(parents=True)
    (src / module / "__init__.py").write_text(f'VERSION = "{version}"\n')
    deps = ", ".join(f'"{dep}"' for dep in dependencies)
    (src / "pyproject.toml").write_text(
        textwrap.dedent(
            f"""
            [build-system]
            requires = ["setuptools>=77"]
            build-backend = "setuptools.build_meta"

            [project]
            name = "{name}"
            version = "{version}"
            description = "A sample project for Bastion's end-to-end tests"
            readme = "README.md"
            requires-python = ">=3.9"
            license = "MIT"
            dependencies = [{deps}]

            [project.urls]
            Source = "https://example.invalid/{name}"
            """
        )
    )
    (src / "README.md").write_text(f"# {name}\n\nA sample project.\n")
    (src / "LICENSE").write_text("MIT License\n")
    dist = src / "dist"
    subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(dist), str(src)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    return Built(
        name=name,
        version=version,
        wheel=next(dist.glob("*.whl")),
        sdist=next(dist.glob("*.tar.gz")),
    )
