from __future__ import annotations

import json

from conftest import GitRepo, run_cli


def test_render_text_prompt_substitutes_variables(example_repo: GitRepo) -> None:
    result = run_cli(
        "render",
        "customer-email",
        "--var",
        "tone=warm",
        "--var",
        "customer_name=Ann",
        "--var",
        "topic=your refund",
        cwd=example_repo.path,
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "Write a warm email to Ann about your refund."


def test_render_chat_fills_placeholder_from_messages_json(example_repo: GitRepo) -> None:
    history = example_repo.path / "history.json"
    history.write_text(json.dumps({"history": [{"role": "user", "content": "Hi, it's me again"}]}))
    result = run_cli(
        "render",
        "support/triage",
        "--var",
        "product=Acme",
        "--var",
        "ticket=Charged twice",
        "--messages-json",
        str(history),
        "--json",
        cwd=example_repo.path,
    )
    assert result.exit_code == 0, result.output
    messages = json.loads(result.stdout)
    assert [m["role"] for m in messages] == ["system", "user", "user"]
    assert messages[0]["content"].startswith("You triage support tickets for Acme.")
    assert messages[1]["content"] == "Hi, it's me again"
    assert messages[2]["content"] == "Charged twice"


def test_render_at_older_ref_uses_that_content(example_repo: GitRepo) -> None:
    result = run_cli(
        "render", "summarize", "--ref", "HEAD~1", "--var", "text=X", cwd=example_repo.path
    )
    assert result.exit_code == 0, result.output
    assert "three sentences" in result.stdout
    assert "busy reader" not in result.stdout


def test_render_missing_variable_names_it(example_repo: GitRepo) -> None:
    result = run_cli("render", "customer-email", "--var", "tone=warm", cwd=example_repo.path)
    assert result.exit_code == 1
    assert "'customer_name'" in result.stderr
    assert "'topic'" in result.stderr
    assert "Traceback" not in result.output


def test_render_unknown_prompt_is_a_usage_error(example_repo: GitRepo) -> None:
    result = run_cli("render", "nope", cwd=example_repo.path)
    assert result.exit_code == 2
    assert "no prompt named 'nope'" in result.stderr


def test_render_unknown_ref_names_it(example_repo: GitRepo) -> None:
    result = run_cli("render", "summarize", "--ref", "no-such-branch", cwd=example_repo.path)
    assert result.exit_code == 2  # usage: the ref is the caller's to fix
    assert "unknown git ref 'no-such-branch'" in result.stderr
