"""Shared fixtures: real git repositories in temp folders, and the CLI run in-process."""

from __future__ import annotations

import contextlib
import io
import os
import queue
import shutil
import subprocess
import textwrap
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_PROMPTS = ROOT / "prompts"

GIT_ENV = {
    "GIT_AUTHOR_NAME": "Ada Author",
    "GIT_AUTHOR_EMAIL": "ada@example.com",
    "GIT_COMMITTER_NAME": "Ada Author",
    "GIT_COMMITTER_EMAIL": "ada@example.com",
    "GIT_CONFIG_NOSYSTEM": "1",
}


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for key, value in GIT_ENV.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    (tmp_path / "home").mkdir(exist_ok=True)
    for key in (
        "PROMPTRAIL_URL",
        "PROMPTRAIL_API_KEY",
        "PROMPTRAIL_SNAPSHOT",
        "PROMPTRAIL_PROMPTS_DIR",
    ):
        monkeypatch.delenv(key, raising=False)
    for key in [k for k in os.environ if k.startswith("GITHUB_")]:
        monkeypatch.delenv(key, raising=False)


@contextlib.contextmanager
def _tracer_restored() -> Iterator[None]:
    """A test (or a module's fixture) that configures the process-wide tracer, an
    in-process CLI run say, leaves it behind for the next: its undelivered items, meant
    for a server now gone, would make every later flush wait out its timeout, and its
    export thread's socket would surface as a ResourceWarning in some unrelated test."""
    from promptrail.tracing import tracer as tracer_module

    before = tracer_module.active
    yield
    after = tracer_module.active
    if after is not before:
        tracer_module.active = before
        if after is not None:
            after.shutdown(timeout=0)


@pytest.fixture(autouse=True)
def _process_tracer_restored() -> Iterator[None]:
    with _tracer_restored():
        yield


@pytest.fixture(autouse=True, scope="module")
def _process_tracer_restored_after_module() -> Iterator[None]:
    with _tracer_restored():
        yield


@dataclass
class GitRepo:
    """A real git repository in a temp folder, with helpers to write prompts and commit."""

    path: Path

    def git(self, *args: str) -> str:
        result = subprocess.run(
            ["git", *args], cwd=self.path, capture_output=True, text=True, check=False
        )
        if result.returncode != 0:
            raise AssertionError(f"git {' '.join(args)} failed: {result.stderr}")
        return result.stdout.strip()

    def write(self, relative: str, text: str) -> Path:
        file = self.path / relative
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return file

    def write_prompt(self, name: str, text: str) -> Path:
        return self.write(f"prompts/{name}.yaml", text)

    def remove(self, relative: str) -> None:
        (self.path / relative).unlink()

    def commit(self, message: str = "change") -> str:
        self.git("add", "-A")
        self.git("commit", "-q", "--allow-empty", "-m", message)
        return self.git("rev-parse", "HEAD")

    def head(self) -> str:
        return self.git("rev-parse", "HEAD")


@pytest.fixture
def git_repo(tmp_path: Path) -> GitRepo:
    path = tmp_path / "repo"
    path.mkdir()
    repo = GitRepo(path)
    repo.git("init", "-q", "-b", "main")
    return repo


@pytest.fixture
def example_repo(git_repo: GitRepo) -> GitRepo:
    """The project's own prompts/ in a fresh repository, history rebuilt for the pinned label."""
    shutil.copytree(EXAMPLE_PROMPTS, git_repo.path / "prompts")
    shutil.copytree(ROOT / "datasets", git_repo.path / "datasets")  # the prompts' `evals:`
    current = (git_repo.path / "prompts/summarize.yaml").read_text()
    first = (
        current.replace("version: 2", "version: 1")
        .replace(" short sentences for a busy reader", " sentences")
        .replace("labels: {production: 1, staging: 2}", "labels: [production]")
    )
    (git_repo.path / "prompts/summarize.yaml").write_text(first)
    git_repo.commit("first prompts")
    (git_repo.path / "prompts/summarize.yaml").write_text(current)
    git_repo.commit("summarize v2 on staging")
    return git_repo


@dataclass
class CliResult:
    exit_code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def run_cli(*args: str, cwd: Path | None = None) -> CliResult:
    """Run `promptrail ARGS` in this process (fast) with the real entry point and exit codes."""
    from promptrail.cli.main import main

    out, err = io.StringIO(), io.StringIO()
    code = 0
    previous = Path.cwd()
    try:
        if cwd is not None:
            os.chdir(cwd)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                main(list(args))
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        os.chdir(previous)
    return CliResult(code, out.getvalue(), err.getvalue())


# -- databases: the same tests on SQLite and on PostgreSQL -----------------------------------

POSTGRES_URL = os.environ.get(
    "PROMPTRAIL_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
REQUIRE_POSTGRES = os.environ.get("PROMPTRAIL_REQUIRE_POSTGRES") == "1"


def _postgres_admin() -> object | None:
    try:
        import psycopg
    except ImportError:
        return None
    try:
        return psycopg.connect(_libpq_url(POSTGRES_URL), autocommit=True, connect_timeout=3)
    except psycopg.OperationalError:
        return None


def _libpq_url(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


@contextlib.contextmanager
def fresh_postgres_database(template: str | None = None) -> Iterator[str]:
    """A new PostgreSQL database for one test (empty, or a copy of `template`); dropped
    afterwards, in the background: a drop waits for a checkpoint, the next test need not."""
    import uuid

    admin = _postgres_admin()
    if admin is None:
        message = f"PostgreSQL not reachable at {POSTGRES_URL}"
        if REQUIRE_POSTGRES:
            pytest.fail(
                message + " (PROMPTRAIL_REQUIRE_POSTGRES=1: PostgreSQL tests are mandatory)"
            )
        pytest.skip(message + "; set PROMPTRAIL_TEST_POSTGRES_URL or start a server to run these")
    name = f"promptrail_test_{uuid.uuid4().hex[:12]}"
    with admin:  # type: ignore[attr-defined]
        copy = f' TEMPLATE "{template}"' if template else ""
        admin.execute(f'CREATE DATABASE "{name}"{copy}')  # type: ignore[attr-defined]
    try:
        yield f"{POSTGRES_URL.rsplit('/', 1)[0]}/{name}"
    finally:
        _dropper.drop(name)


class _Dropper:
    """Drops databases on a worker thread; `wait()` at the end of the session."""

    def __init__(self) -> None:
        self._names: queue.Queue[str | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self.failures: list[str] = []

    def drop(self, name: str) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="drop-databases", daemon=True)
            self._thread.start()
        self._names.put(name)

    def _run(self) -> None:
        while (name := self._names.get()) is not None:
            admin = _postgres_admin()
            try:
                with admin:  # type: ignore[attr-defined]
                    admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')  # type: ignore[attr-defined]
            except Exception as exc:  # reported at the end of the session
                self.failures.append(f"{name}: {exc}")

    def wait(self) -> None:
        if self._thread is not None:
            self._names.put(None)
            self._thread.join(120)
            self._thread = None


_dropper = _Dropper()


def pytest_sessionfinish(session: pytest.Session) -> None:
    _dropper.wait()
    for failure in _dropper.failures:
        print(f"could not drop the test database {failure}")


class MigratedTemplates:
    """One database per backend migrated once per session; tests that want the schema
    ready get a copy (a file copy, or PostgreSQL's CREATE DATABASE ... TEMPLATE)."""

    def __init__(self, folder: Path, stack: contextlib.ExitStack) -> None:
        self._folder = folder
        self._stack = stack
        self._made: dict[str, str] = {}

    def _template(self, backend: str) -> str:
        if backend not in self._made:
            from promptrail.store import Store, migrate

            if backend == "sqlite":
                url = f"sqlite:///{self._folder / 'template.db'}"
                self._made[backend] = str(self._folder / "template.db")
            else:
                url = self._stack.enter_context(fresh_postgres_database())
                self._made[backend] = url.rsplit("/", 1)[1]
            store = Store.open(url)
            try:
                migrate.upgrade(store.engine)
            finally:
                store.close()  # no connection may stay open on a PostgreSQL template
        return self._made[backend]

    @contextlib.contextmanager
    def copy(self, backend: str, folder: Path) -> Iterator[str]:
        """A database already at the newest schema, for one test."""
        if backend == "sqlite":
            path = folder / "registry.db"
            shutil.copyfile(self._template("sqlite"), path)
            yield f"sqlite:///{path}"
        else:
            with fresh_postgres_database(template=self._template("postgres")) as url:
                yield url


@pytest.fixture(scope="session")
def migrated_templates(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MigratedTemplates]:
    with contextlib.ExitStack() as stack:
        yield MigratedTemplates(tmp_path_factory.mktemp("templates"), stack)


# The two databases every backend-dependent fixture is parametrized over.
BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@contextlib.contextmanager
def empty_database(backend: str, folder: Path) -> Iterator[str]:
    """The URL of an empty registry database: a SQLite file in `folder`, or a fresh
    PostgreSQL database (dropped afterwards)."""
    if backend == "sqlite":
        yield f"sqlite:///{folder / 'registry.db'}"
    else:
        with fresh_postgres_database() as url:
            yield url


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database URL for an empty registry: a SQLite file, then a fresh PostgreSQL database."""
    with empty_database(request.param, tmp_path) as url:
        yield url
