"""Plays a GitHub Actions workflow file locally, the way a runner would, for the e2e test.

Only what the promptrail workflows use: `if:` and `${{ }}` expressions over the github,
env, vars, secrets and steps (their outputs) contexts; workflow, job and step `env:`;
`defaults.run.shell: bash` (run as `bash --noprofile --norc -eo pipefail`, as GitHub
does); the GITHUB_* variables a runner sets, GITHUB_OUTPUT included. `uses:` steps
(checkout, setup-python, cache) and install steps are skipped: the caller has checked out
the workspace and promptrail is installed in this virtualenv.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

import yaml

VENV_BIN = Path(sys.executable).parent
EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
TOKEN = re.compile(
    r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<num>\d+(?:\.\d+)?)|(?P<op>==|!=|&&|\|\||!|\(|\))"
    r"|(?P<call>[A-Za-z_][\w-]*)\(\)|(?P<name>[A-Za-z_][\w.-]*))"
)


@dataclass
class StepResult:
    name: str
    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


@dataclass
class JobResult:
    name: str
    steps: list[StepResult] = field(default_factory=list)
    skipped_steps: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(s.returncode == 0 for s in self.steps)

    def step(self, prefix: str) -> StepResult:
        for step in self.steps:
            if step.name.startswith(prefix):
                return step
        raise AssertionError(f"no step {prefix!r} ran in job {self.name}: {self.describe()}")

    def describe(self) -> str:
        lines = [f"job {self.name}:"]
        for s in self.steps:
            lines.append(f"  [{s.returncode}] {s.name}\n{_indent(s.output)}")
        lines += [f"  [skipped] {name}" for name in self.skipped_steps]
        return "\n".join(lines)


@dataclass
class WorkflowRun:
    jobs: dict[str, JobResult] = field(default_factory=dict)
    triggered: bool = True

    @property
    def ok(self) -> bool:
        return all(j.ok for j in self.jobs.values())

    def describe(self) -> str:
        if not self.triggered:
            return "workflow not triggered by this event"
        return "\n".join(j.describe() for j in self.jobs.values()) or "no job ran"


@dataclass
class Event:
    """One event as a runner sees it: its name, payload, ref and commit."""

    name: str  # pull_request | push | schedule
    payload: dict[str, Any]
    ref: str  # GITHUB_REF
    sha: str  # GITHUB_SHA
    base_ref: str = ""
    head_ref: str = ""
    changed_files: list[str] = field(default_factory=list)  # for `paths:` filters


class ActionsRunner:
    def __init__(
        self,
        *,
        repository: str,
        api_url: str,
        token: str,
        secrets: dict[str, str],
        variables: dict[str, str],
        temp: Path,
    ):
        self.repository = repository
        self.api_url = api_url
        self.token = token
        self.secrets = secrets
        self.variables = variables
        self.temp = temp
        self.run_id = 1000

    def run(self, workflow_file: Path, event: Event, workspace: Path) -> WorkflowRun:
        workflow = yaml.safe_load(workflow_file.read_text())
        result = WorkflowRun()
        if not triggers(workflow.get(True) or workflow.get("on"), event):
            result.triggered = False
            return result
        self.run_id += 1
        context = self._context(event)
        event_path = self.temp / f"event-{self.run_id}.json"
        event_path.write_text(json.dumps(event.payload))
        runner_env = self._runner_env(event, workspace, event_path)
        workflow_env = self._env(workflow.get("env"), context, {})
        for job_id, job in workflow["jobs"].items():
            job_context = {**context, "env": workflow_env}
            if "if" in job and not truthy(evaluate(job["if"], job_context, "success")):
                continue
            job_env = self._env(job.get("env"), job_context, workflow_env)
            result.jobs[job_id] = self._run_job(job_id, job, job_context, job_env, runner_env)
        return result

    def _run_job(
        self,
        job_id: str,
        job: dict[str, Any],
        context: dict[str, Any],
        job_env: dict[str, str],
        runner_env: dict[str, str],
    ) -> JobResult:
        result = JobResult(job_id)
        status = "success"
        context = {**context, "steps": {}}
        for index, step in enumerate(job["steps"]):
            name = step.get("name") or step.get("uses") or f"step {index}"
            name = substitute(str(name), {**context, "env": job_env})
            if "uses" in step or "pip install" in step.get("run", ""):
                continue  # the workspace is checked out and promptrail installed already
            step_context = {**context, "env": job_env}
            if not truthy(evaluate(step.get("if", "success()"), step_context, status)):
                result.skipped_steps.append(name)
                continue
            env = {**runner_env, **self._env(step.get("env"), step_context, job_env)}
            outputs = self.temp / f"output-{self.run_id}-{index}"
            outputs.write_text("")
            env["GITHUB_OUTPUT"] = str(outputs)
            script = substitute(step["run"], {**step_context, "env": env})
            outcome = self._bash(script, env, Path(runner_env["GITHUB_WORKSPACE"]))
            result.steps.append(StepResult(name, *outcome))
            if "id" in step:  # `key=value` lines a step wrote: `steps.<id>.outputs.<key>`
                lines = outputs.read_text().splitlines()
                values = dict(line.split("=", 1) for line in lines if "=" in line)
                context["steps"][step["id"]] = {"outputs": values}
            if outcome[0] != 0:
                status = "failure"
        return result

    def _bash(self, script: str, env: dict[str, str], cwd: Path) -> tuple[int, str, str]:
        path = self.temp / f"step-{self.run_id}.sh"
        path.write_text(script)
        proc = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(path)],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        return proc.returncode, proc.stdout, proc.stderr

    def _context(self, event: Event) -> dict[str, Any]:
        return {
            "github": {
                "event_name": event.name,
                "event": event.payload,
                "ref": event.ref,
                "sha": event.sha,
                "base_ref": event.base_ref,
                "head_ref": event.head_ref,
                "repository": self.repository,
                "run_id": str(self.run_id),
                "server_url": "https://github.com",
                "api_url": self.api_url,
                "token": self.token,
            },
            "secrets": {"GITHUB_TOKEN": self.token, **self.secrets},
            "vars": self.variables,
        }

    def _runner_env(self, event: Event, workspace: Path, event_path: Path) -> dict[str, str]:
        env_file = self.temp / f"env-{self.run_id}"
        env_file.write_text("")
        return {
            "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}",
            "HOME": os.environ.get("HOME", str(self.temp)),
            "LANG": "C.UTF-8",
            "CI": "true",
            "GITHUB_ACTIONS": "true",
            "GITHUB_EVENT_NAME": event.name,
            "GITHUB_EVENT_PATH": str(event_path),
            "GITHUB_SHA": event.sha,
            "GITHUB_REF": event.ref,
            "GITHUB_REF_NAME": event.ref.rsplit("/", 1)[-1],
            "GITHUB_BASE_REF": event.base_ref,
            "GITHUB_HEAD_REF": event.head_ref,
            "GITHUB_REPOSITORY": self.repository,
            "GITHUB_RUN_ID": str(self.run_id),
            "GITHUB_RUN_ATTEMPT": "1",
            "GITHUB_SERVER_URL": "https://github.com",
            "GITHUB_API_URL": self.api_url,
            "GITHUB_WORKSPACE": str(workspace),
            "GITHUB_ENV": str(env_file),
            "RUNNER_TEMP": str(self.temp),
            **{k: v for k, v in os.environ.items() if k.startswith("GIT_")},
            # The code under test, when it is not the installed one (a worktree's src/);
            # absolute, since the steps run in the workspace.
            **_python_path(),
        }

    @staticmethod
    def _env(
        block: dict[str, Any] | None, context: dict[str, Any], inherited: dict[str, str]
    ) -> dict[str, str]:
        env = dict(inherited)
        for key, value in (block or {}).items():
            env[key] = substitute(str(value), {**context, "env": env})
        return env


def _python_path() -> dict[str, str]:
    entries = [e for e in os.environ.get("PYTHONPATH", "").split(os.pathsep) if e]
    if not entries:
        return {}
    return {"PYTHONPATH": os.pathsep.join(str(Path(e).resolve()) for e in entries)}


# -- triggers -------------------------------------------------------------------------------


def triggers(on: Any, event: Event) -> bool:
    """Whether the workflow's `on:` fires for this event (branches, types and paths)."""
    if isinstance(on, str):
        return on == event.name
    if isinstance(on, list):
        return event.name in on
    if event.name not in on:
        return False
    spec = on[event.name] if isinstance(on[event.name], dict) else {}
    action = event.payload.get("action")
    default_types = ["opened", "synchronize", "reopened"]
    if event.name == "pull_request" and action not in spec.get("types", default_types):
        return False
    branch = event.base_ref if event.name == "pull_request" else event.ref.rsplit("/", 1)[-1]
    if "branches" in spec and not any(fnmatch(branch, b) for b in spec["branches"]):
        return False
    if "paths" in spec:
        patterns = [p.replace("**", "*") for p in spec["paths"]]
        return any(fnmatch(f, p) for f in event.changed_files for p in patterns)
    return True


# -- expressions ----------------------------------------------------------------------------


def substitute(text: str, context: dict[str, Any]) -> str:
    return EXPRESSION.sub(lambda m: _to_string(evaluate(m.group(1), context, "success")), text)


def evaluate(expression: str, context: dict[str, Any], status: str) -> Any:
    """A GitHub expression, for the operators and functions the workflows use."""
    expression = EXPRESSION.sub(lambda m: m.group(1), str(expression)).strip()
    python: list[str] = []
    values: dict[str, Any] = {}
    pos = 0
    uses_status = False
    while pos < len(expression):
        match = TOKEN.match(expression, pos)
        if not match or match.end() == pos:
            raise ValueError(f"cannot read expression {expression!r} at {pos}")
        pos = match.end()
        kind = match.lastgroup
        text = match.group(kind)
        if kind == "op":
            python.append({"&&": " and ", "||": " or ", "!": " not "}.get(text, f" {text} "))
            continue
        if kind == "call":
            uses_status = True
            results = {
                "success": status == "success",
                "failure": status == "failure",
                "always": True,
                "cancelled": False,
            }
            if text not in results:
                raise ValueError(f"expression function {text}() is not supported here")
            value: Any = results[text]
        elif kind == "str":
            value = text[1:-1].replace("''", "'")
        elif kind == "num":
            value = float(text)
        elif text in ("true", "false", "null"):
            value = {"true": True, "false": False, "null": None}[text]
        else:
            value = _lookup(context, text)
        key = f"_v{len(values)}"
        values[key] = _Value(value)
        python.append(key)
    result = eval("".join(python), {"__builtins__": {}}, values)
    if not uses_status and status != "success":
        return False  # an `if:` without a status function means success() && (...)
    return result.value if isinstance(result, _Value) else result


class _Value:
    """A value with GitHub's comparison rules (strings compare case-insensitively)."""

    def __init__(self, value: Any):
        self.value = value

    def _norm(self) -> Any:
        value = self.value
        if value is None:
            return ""
        return value.lower() if isinstance(value, str) else value

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Value) and self._norm() == other._norm()

    def __ne__(self, other: object) -> bool:
        return not self == other

    def __bool__(self) -> bool:
        return truthy(self.value)

    __hash__ = None  # type: ignore[assignment]


def _lookup(context: dict[str, Any], dotted: str) -> Any:
    value: Any = context
    for part in dotted.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def truthy(value: Any) -> bool:
    if isinstance(value, _Value):
        value = value.value
    return value not in (None, False, "", 0)


def _to_string(value: Any) -> str:
    if isinstance(value, _Value):
        value = value.value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _indent(text: str) -> str:
    return "\n".join(f"      {line}" for line in text.strip().splitlines())
