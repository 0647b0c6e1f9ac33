"""This repository's `.github/workflows/prompts-*.yml`, rendered from `init`'s templates.

One source: the templates that `promptrail init` writes into users' repositories. The
project's own copies differ only in installing promptrail from the checkout. A test
checks they are current; to regenerate them after editing a template:

    .venv/bin/python tests/gitops/e2e/workflows.py
"""

from __future__ import annotations

from pathlib import Path

from promptrail.gitops.init import render_workflow

ROOT = Path(__file__).resolve().parents[3]
WORKFLOWS_DIR = ROOT / ".github" / "workflows"
# This repository's file -> the template it is rendered from.
PROJECT_WORKFLOWS = {
    "prompts-pr.yml": "promptrail-pr.yml",
    "prompts-publish.yml": "promptrail-publish.yml",
    "prompts-pr-closed.yml": "promptrail-pr-closed.yml",
}
PROJECT_INSTALL = "."  # the checkout itself


def project_workflow(name: str) -> str:
    return render_workflow(PROJECT_WORKFLOWS[name], install=PROJECT_INSTALL, branch="main")


def main() -> None:
    for name in PROJECT_WORKFLOWS:
        path = WORKFLOWS_DIR / name
        with open(path, "w", encoding="utf-8", newline="") as handle:
            handle.write(project_workflow(name))
        print(f"wrote {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
