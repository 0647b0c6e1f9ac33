"""The wheel and sdist an index release would ship: complete, and working in a bare venv.

Builds both from this checkout with `python -m build` (the sdist first, the wheel from it,
as an index release would), checks every file of the package is inside, then installs the
wheel with its server extra into a fresh `python -m venv` and runs the commands a new user
runs first: `--version`, `init`, and `serve` answering its health route.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tarfile
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from promptrail import __version__
from serverproc import free_port

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


def package_files() -> set[str]:
    """Every file of src/promptrail git tracks, as a path inside the wheel."""
    listed = subprocess.run(
        ["git", "ls-files", "src/promptrail"], cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout.split()
    return {path.removeprefix("src/") for path in listed}


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    # A clean copy of the committed tree: nothing untracked or built locally slips in.
    source = out / "source"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(source)], check=True)
    commit = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout.strip()
    subprocess.run(["git", "checkout", "-q", commit], cwd=source, check=True)
    built = subprocess.run(
        [sys.executable, "-m", "build", "--outdir", str(out), str(source)],
        capture_output=True,
        text=True,
    )
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    return out


def test_wheel_and_sdist_hold_every_template_static_file_migration_and_price(dist: Path) -> None:
    expected = package_files()
    data = {p for p in expected if not p.endswith(".py")}
    assert "promptrail/store/pricing.yaml" in data
    assert any("/templates/init/" in p for p in data)
    assert any("/migrations/versions/" in p for p in expected)

    (wheel,) = dist.glob(f"promptrail-{__version__}-*.whl")
    in_wheel = set(zipfile.ZipFile(wheel).namelist())
    assert sorted(expected - in_wheel) == []

    (sdist,) = dist.glob(f"promptrail-{__version__}.tar.gz")
    with tarfile.open(sdist) as archive:
        prefix = f"promptrail-{__version__}/src/"
        in_sdist = {n.removeprefix(prefix) for n in archive.getnames() if n.startswith(prefix)}
    assert sorted(expected - in_sdist) == []


@pytest.fixture(scope="module")
def venv(dist: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    (wheel,) = dist.glob("promptrail-*.whl")
    home = tmp_path_factory.mktemp("venv") / "bare"
    subprocess.run([sys.executable, "-m", "venv", str(home)], check=True)
    installed = subprocess.run(
        [str(home / "bin" / "python"), "-m", "pip", "install", "-q", f"{wheel}[server]"],
        capture_output=True,
        text=True,
        env=bare_env(),
    )
    assert installed.returncode == 0, installed.stdout[-3000:] + installed.stderr[-3000:]
    return home


def bare_env() -> dict[str, str]:
    """This environment without our checkout on PYTHONPATH: the venv's own promptrail runs."""
    return {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}


def promptrail(venv: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(venv / "bin" / "promptrail"), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=bare_env(),
        timeout=120,
    )


def test_installed_wheel_runs_version_init_and_serve(venv: Path, tmp_path: Path) -> None:
    version = promptrail(venv, "--version", cwd=tmp_path)
    assert version.returncode == 0, version.stderr
    assert __version__ in version.stdout

    repo = tmp_path / "repo"
    repo.mkdir()
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=repo, check=True)
    init = promptrail(venv, "init", "--install", "pypi", cwd=repo)
    assert init.returncode == 0, init.stdout + init.stderr
    assert (repo / "prompts/welcome.yaml").is_file()
    assert (repo / ".github/workflows/promptrail-pr.yml").is_file()
    assert promptrail(venv, "validate", cwd=repo).returncode == 0

    port = free_port()
    with serving(venv, repo, port):
        health = httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=5)
    assert health.status_code == 200, health.text
    assert health.json()["version"] == __version__


@contextlib.contextmanager
def serving(venv: Path, cwd: Path, port: int) -> Iterator[None]:
    db = f"sqlite:///{cwd / 'registry.db'}"
    args = [str(venv / "bin" / "promptrail"), "serve", "--port", str(port), "--db", db]
    args.append("--no-auth")
    log = cwd / "serve.log"
    with open(log, "wb") as output:
        server = subprocess.Popen(args, cwd=cwd, env=bare_env(), stdout=output, stderr=output)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert server.poll() is None, log.read_text()
            with contextlib.suppress(httpx.HTTPError):
                httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=1)
                break
            time.sleep(0.2)
        yield
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
