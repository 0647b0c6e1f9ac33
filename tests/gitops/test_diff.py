"""`promptrail diff`: what changed, in text, markdown and JSON, on real git repositories."""

from __future__ import annotations

import json
import re

import pytest

from conftest import GitRepo, run_cli
from promptrail.gitops.diff import diff_refs
from promptrail.repo.repository import PromptRepo

SUMMARIZE = """\
# comments survive
version: {version}
prompt: "{text}"
config:
  model: gpt-4o-mini
  temperature: {temperature}
labels: {labels}
tags: [internal]
"""


@pytest.fixture
def changed_repo(example_repo: GitRepo) -> GitRepo:
    """On top of the example: summarize v3 needs a new variable and production moves to it;
    triage gets a new message; customer-email is removed; a new prompt is added."""
    example_repo.write_prompt(
        "summarize",
        SUMMARIZE.format(
            version=3,
            text="Summarize for {{audience}}:\\n\\n{{text}}",
            temperature=0.3,
            labels="{production: 3, staging: 3}",
        ),
    )
    triage = (example_repo.path / "prompts/support/triage.yaml").read_text()
    triage = triage.replace("version: 1", "version: 2").replace(
        '    content: "{{ticket}}"',
        '    content: "{{ticket}}"\n  - role: assistant\n    content: ok',
    )
    example_repo.write_prompt("support/triage", triage)
    example_repo.remove("prompts/customer-email.yaml")
    example_repo.write_prompt("new/one", "version: 1\nprompt: Hi {{name}}\nconfig: {model: m}\n")
    return example_repo


def test_diff_finds_added_removed_and_changed(changed_repo: GitRepo) -> None:
    result = diff_refs(PromptRepo(changed_repo.path), "HEAD")
    status = {p.name: p.status for p in result.prompts}
    assert status == {
        "customer-email": "removed",
        "new/one": "added",
        "summarize": "changed",
        "support/triage": "changed",
    }


def test_json_structure(changed_repo: GitRepo) -> None:
    out = run_cli("diff", "HEAD", "--format", "json", cwd=changed_repo.path)
    assert out.exit_code == 0, out.output
    data = json.loads(out.stdout)
    assert data["base"] == "HEAD"
    assert data["head"] is None
    assert data["summary"] == {"added": 1, "removed": 1, "changed": 2, "breaking": 2}
    prompts = {p["name"]: p for p in data["prompts"]}
    summarize = prompts["summarize"]
    assert summarize["version"] == {"old": 2, "new": 3}
    assert summarize["content_changed"] is True
    assert summarize["variables"] == {"added": ["audience"], "removed": []}
    assert "+Summarize for {{audience}}:" in summarize["text_diff"]
    assert {"key": "temperature", "change": "changed", "old": 0.2, "new": 0.3} in summarize[
        "config"
    ]
    assert summarize["labels"] == [
        {"key": "production", "change": "moved", "old": 1, "new": 3},
        {"key": "staging", "change": "moved", "old": 2, "new": 3},
        {"key": "latest", "change": "moved", "old": 2, "new": 3},
    ]
    assert summarize["tags"] == {"added": [], "removed": []}
    assert summarize["description"] == {
        "old": "Summarizes a document for the internal digest.",
        "new": None,
    }
    assert len(summarize["breaking"]) == 1
    assert "`audience`" in summarize["breaking"][0]
    triage = prompts["support/triage"]
    assert triage["messages"] == [
        {
            "index": 3,
            "change": "added",
            "old_role": None,
            "new_role": "assistant",
            "diff": "--- /dev/null\n+++ b/messages[3]\n@@ -0,0 +1,2 @@\n+[assistant]\n+ok",
        }
    ]
    assert triage["breaking"] == []
    removed = prompts["customer-email"]
    assert removed["breaking"] == ["prompt removed while `production` pointed to v1"]


def test_breaking_compares_with_the_version_production_pointed_to(example_repo: GitRepo) -> None:
    """summarize's production is pinned to v1 (content from git history); promoting v2,
    which uses the same variables, is not breaking; a v3 with a new one is."""
    base = example_repo.head()
    text = (example_repo.path / "prompts/summarize.yaml").read_text()
    example_repo.write_prompt("summarize", text.replace("production: 1", "production: 2"))
    result = diff_refs(PromptRepo(example_repo.path), base)
    (item,) = result.prompts
    assert [(c.key, c.old, c.new) for c in item.labels] == [("production", 1, 2)]
    assert not item.content_changed
    assert item.breaking == []
    text = text.replace("version: 2", "version: 3").replace("{{text}}", "{{text}} {{lang}}")
    example_repo.write_prompt("summarize", text)  # production stays on v1: not breaking yet
    assert diff_refs(PromptRepo(example_repo.path), base).prompts[0].breaking == []
    example_repo.write_prompt("summarize", text.replace("production: 1", "production: 3"))
    breaking = diff_refs(PromptRepo(example_repo.path), base).prompts[0].breaking
    assert breaking
    assert "(v1 → v3) needs `lang`" in breaking[0]


def test_placeholder_added_to_production_is_breaking(example_repo: GitRepo) -> None:
    reply = (example_repo.path / "prompts/support/reply.yaml").read_text()
    reply = reply.replace("version: 1", "version: 2").replace(
        "  - role: user\n", "  - role: placeholder\n    name: history\n  - role: user\n"
    )
    example_repo.write_prompt("support/reply", reply)
    (item,) = diff_refs(PromptRepo(example_repo.path), "HEAD").prompts
    assert item.placeholders_added == ["history"]
    assert "`history`" in item.breaking[0]


def test_type_change_under_production_is_breaking_and_roles_show(git_repo: GitRepo) -> None:
    git_repo.write_prompt("a", "version: 1\nprompt: Hi {{name}}\nlabels: [production]\n")
    git_repo.commit()
    git_repo.write_prompt(
        "a",
        "version: 2\ntype: chat\nmessages:\n  - role: system\n    content: Hi {{name}}\n"
        "labels: [production]\n",
    )
    (item,) = diff_refs(PromptRepo(git_repo.path), "HEAD").prompts
    assert (item.old_type, item.new_type) == ("text", "chat")
    assert "turns from a text into a chat prompt" in item.breaking[0]
    assert item.text_diff.endswith("-Hi {{name}}")
    assert item.messages[0].diff.endswith("+[system]\n+Hi {{name}}")


def test_markdown_is_a_pr_comment(changed_repo: GitRepo) -> None:
    out = run_cli("diff", "HEAD", "--format", "markdown", cwd=changed_repo.path)
    assert out.exit_code == 0, out.output
    md = out.stdout
    assert md.startswith("<!-- promptrail-diff -->\n")
    table = [line for line in md.splitlines() if line.startswith("| `")]
    assert len(table) == 4
    summarize_row = next(row for row in table if "`summarize`" in row)
    assert "v2 → v3" in summarize_row
    assert "breaking" in summarize_row
    assert "production: v1 → v3" in summarize_row
    assert md.count("<details>") == 4
    assert md.count("</details>") == 4
    block = md[md.index("<summary><code>summarize</code>") :]
    block = block[: block.index("</details>")]
    assert "⚠️ **Breaking:**" in block
    assert "```diff\n--- a/prompt\n+++ b/prompt\n" in block
    assert "| `temperature` | `0.2` | `0.3` |" in block


def test_markdown_stays_readable_and_bounded_at_many_prompts(git_repo: GitRepo) -> None:
    for i in range(60):
        git_repo.write_prompt(f"p{i:02d}", f"version: 1\nprompt: '{'word ' * 400}'\n")
    git_repo.commit()
    for i in range(60):
        git_repo.write_prompt(f"p{i:02d}", f"version: 2\nprompt: '{'other ' * 400}{i}'\n")
    md = run_cli("diff", "HEAD", "--format", "markdown", cwd=git_repo.path).stdout
    assert len(md) < 65_536
    assert len([line for line in md.splitlines() if line.startswith("| `p")]) == 60
    assert "did not fit in one comment" in md


def test_markdown_fence_survives_backticks_in_prompts(git_repo: GitRepo) -> None:
    git_repo.write_prompt("a", "version: 1\nprompt: |\n  Answer in ``` fences\n")
    git_repo.commit()
    git_repo.write_prompt("a", "version: 2\nprompt: |\n  Answer in ```json fences\n")
    md = run_cli("diff", "HEAD", "--format", "markdown", cwd=git_repo.path).stdout
    assert "````diff" in md


def test_text_format_without_tty_has_no_colour(changed_repo: GitRepo) -> None:
    out = run_cli("diff", "HEAD", cwd=changed_repo.path)
    assert out.exit_code == 0
    text = out.stdout
    assert "\033[" not in text
    assert "~ summarize  v2 → v3  (prompts/summarize.yaml)" in text
    assert "    BREAKING: `production` (v1 → v3) needs `audience`" in text
    assert "labels: production: v1 → v3, staging: v2 → v3, latest: v2 → v3" in text
    assert "variables: +audience" in text
    assert "config: temperature: 0.2 → 0.3" in text
    assert "- customer-email  v1" in text
    assert "+ new/one  v1" in text
    assert re.search(
        r"^4 prompts changed \(HEAD → working tree\): 1 added, 1 removed, 2 changed; 2 breaking$",
        text,
        re.M,
    )


def test_text_colour_when_a_terminal_asks_for_it(changed_repo: GitRepo) -> None:
    from promptrail.gitops.diffview import render_text

    text = render_text(diff_refs(PromptRepo(changed_repo.path), "HEAD"), color=True)
    assert "\033[32m+Summarize for {{audience}}" in text


def test_label_moves_added_and_removed(git_repo: GitRepo) -> None:
    git_repo.write_prompt("a", "version: 1\nprompt: x\nlabels: [production, canary]\n")
    git_repo.commit()
    git_repo.write_prompt("a", "version: 2\nprompt: y\nlabels: {production: 1, staging: 2}\n")
    (item,) = diff_refs(PromptRepo(git_repo.path), "HEAD").prompts
    from promptrail.gitops.diffview import label_text

    assert [label_text(c) for c in item.labels] == [
        "canary: removed (was v1)",
        "staging: added v2",
        "latest: v1 → v2",
    ]


def test_comment_only_change_is_not_listed(example_repo: GitRepo) -> None:
    file = example_repo.path / "prompts/customer-email.yaml"
    file.write_text("# another comment\n" + file.read_text())
    out = run_cli("diff", "HEAD", cwd=example_repo.path)
    assert out.stdout.strip() == "no prompt changes (HEAD → working tree)"


def test_two_refs_and_path_option(example_repo: GitRepo) -> None:
    out = run_cli("diff", "HEAD~1", "HEAD", "--format", "json", "--path", str(example_repo.path))
    data = json.loads(out.stdout)
    assert data["head"] == "HEAD"
    assert [p["name"] for p in data["prompts"]] == ["summarize"]


def test_diff_parses_only_changed_files(git_repo: GitRepo) -> None:
    for i in range(30):
        git_repo.write_prompt(f"p{i}", f"version: 1\nprompt: text {i}\n")
    git_repo.commit()
    git_repo.write_prompt("p3", "version: 2\nprompt: changed\n")
    git_repo.write_prompt("p7", "version: [broken\n")
    git_repo.commit()
    import promptrail.repo.promptfile as promptfile

    promptfile._parsed.clear()
    result = diff_refs(PromptRepo(git_repo.path), "HEAD~1", "HEAD")
    parsed_names = {key[1] for key in promptfile._parsed}
    assert parsed_names == {"prompts/p3.yaml", "prompts/p7.yaml"}
    assert [p.name for p in result.prompts] == ["p3", "p7"]
    assert "prompts/p7.yaml:" in (result.prompts[1].error or "")


def test_unparseable_file_is_reported_and_fails(git_repo: GitRepo) -> None:
    git_repo.write_prompt("a", "version: 1\nprompt: x\n")
    git_repo.commit()
    git_repo.write_prompt("a", "version: 2\nprompt: x\n\tbad: tab\n")
    out = run_cli("diff", "HEAD", cwd=git_repo.path)
    assert out.exit_code == 1
    assert "prompts/a.yaml:3" in out.stdout
    assert "tab" in out.stdout
