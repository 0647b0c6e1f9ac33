"""Generate a git repository of N prompt files, then a second commit that changes K of them.

    .venv/bin/python bench/gen_repo.py /tmp/prompts-10k --prompts 10000 --changed 100

The mix resembles a real repository: text and chat prompts (some with a placeholder, some
using Jinja `{% if %}`), block scalars and comments, nested team/area folders, labels in
both forms. The second commit changes K prompts: most get new content and a bumped
version, some only move a label, some only change their config (and are bumped too).
"""

from __future__ import annotations

import argparse
import random
import subprocess
from pathlib import Path

TEAMS = ["support", "sales", "search", "billing", "growth", "legal", "docs", "ops"]
AREAS = ["email", "chat", "triage", "summary", "extract", "classify", "rewrite"]
MODELS = ["gpt-4o", "gpt-4o-mini", "claude-3-5-sonnet", "claude-3-haiku"]
WORDS = [
    *("customer", "order", "refund", "invoice", "ticket", "account", "answer", "policy"),
    *("product", "summary", "detail", "reply", "draft", "tone", "careful", "concise"),
    *("friendly", "formal", "context", "question", "request", "status"),
]


def _sentence(rng: random.Random, n: int = 12) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n)).capitalize() + "."


def prompt_text(rng: random.Random, index: int, version: int, variant: int = 0) -> str:
    """One prompt file's text; `variant` changes the content without changing its shape."""
    extra = f" Variant {variant}." if variant else ""
    model = MODELS[(index + variant) % len(MODELS)]
    temperature = round(((index + variant) % 10) / 10, 1)
    labels = "[production]" if index % 5 else f"{{production: {version}, staging: {version}}}"
    head = f"# Prompt {index}: generated for the benchmark.\nversion: {version}\n"
    tail = (
        f"config:\n  model: {model}\n  temperature: {temperature}\n"
        f"  max_tokens: {200 + index % 7}\n"
        f"labels: {labels}\ntags: [{TEAMS[index % len(TEAMS)]}, generated]\n"
        f"description: {_sentence(rng, 6)}\n"
    )
    if index % 5 < 3:
        if index % 7 == 0:
            body = (
                "prompt: |\n"
                f"  {_sentence(rng)}{extra}\n"
                "  {% if formal %}Use a formal tone.{% else %}Be warm.{% endif %}\n"
                "  Customer: {{customer_name}}\n  Topic: {{topic}}\n"
            )
        else:
            ask = "Write to {{customer_name}} about {{topic}}."
            body = f'prompt: "{_sentence(rng)}{extra} {ask}"\n'
        return head + body + tail
    messages = (
        "type: chat\nmessages:\n  - role: system\n    content: |\n"
        f"      {_sentence(rng)}{extra}\n      {_sentence(rng)}\n      Product: {{{{product}}}}\n"
    )
    if index % 2:
        messages += "  - role: placeholder\n    name: history\n"
    messages += '  - role: user\n    content: "{{question}}"\n'
    return head + messages + tail


def _path(index: int) -> str:
    team = TEAMS[index % len(TEAMS)]
    area = AREAS[(index // len(TEAMS)) % len(AREAS)]
    return f"prompts/{team}/{area}/prompt-{index:05d}.yaml"


def _git(root: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=root, check=True, capture_output=True)


def generate(
    root: Path, prompts: int, changed: int, seed: int = 7, history_rounds: int = 0
) -> list[str]:
    """Build the repository at `root`; returns the paths changed by the last commit.

    `history_rounds` commits in between each give 30% of the prompts a new version, for a
    history deeper than one commit (what `validate` reads to check version numbers).
    """
    rng = random.Random(seed)
    root.mkdir(parents=True, exist_ok=True)
    _git(root, "init", "-q", "-b", "main")
    for key, value in (("user.name", "Bench"), ("user.email", "bench@example.com")):
        _git(root, "config", key, value)
    for index in range(prompts):
        file = root / _path(index)
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_text(prompt_text(random.Random(index), index, 1))
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "-m", f"{prompts} prompts")
    versions = [1] * prompts
    for round_ in range(history_rounds):
        for index in rng.sample(range(prompts), prompts * 3 // 10):
            versions[index] += 1
            text = prompt_text(random.Random(index), index, versions[index], 10 + round_)
            (root / _path(index)).write_text(text)
        _git(root, "commit", "-q", "-a", "-m", f"history round {round_ + 1}")
    touched = sorted(rng.sample(range(prompts), min(changed, prompts)))
    for n, index in enumerate(touched):
        file = root / _path(index)
        version = versions[index]
        if n % 10 == 9:  # a label move only: `canary` on the current version, no new version
            text = file.read_text().replace("labels: [production]", "labels: [production, canary]")
            text = text.replace(f"staging: {version}}}", f"staging: {version}, canary: {version}}}")
        else:
            text = prompt_text(random.Random(index), index, version + 1, variant=1 + n % 3)
        file.write_text(text)
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "-m", f"change {len(touched)} prompts")
    return [_path(i) for i in touched]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", type=Path)
    parser.add_argument("--prompts", type=int, default=10_000)
    parser.add_argument("--changed", type=int, default=100)
    parser.add_argument("--history-rounds", type=int, default=0)
    args = parser.parse_args()
    if args.root.exists() and any(args.root.iterdir()):
        parser.error(f"{args.root} exists and is not empty")
    changed = generate(args.root, args.prompts, args.changed, history_rounds=args.history_rounds)
    print(f"{args.root}: {args.prompts} prompts, {len(changed)} changed in HEAD")


if __name__ == "__main__":
    main()
