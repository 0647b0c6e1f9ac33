"""`promptrail version` and `promptrail label`: minimal edits, numbers never reused."""

from __future__ import annotations

from conftest import GitRepo, run_cli
from promptrail.gitops.versioning import bump_versions, plan_bumps
from promptrail.repo.repository import PromptRepo

STYLED = """\
# Summaries for the digest.   keep this comment
version: 1   # bumped by CI
prompt: |
  Summarize {{text}}.
config:
  model: gpt-4o-mini   # cheap
  temperature: 0.2
labels: [production]
tags: [internal]
"""


def read(repo: GitRepo, name: str) -> str:
    return (repo.path / f"prompts/{name}.yaml").read_text()


def edit_text(repo: GitRepo, name: str, old: str, new: str) -> None:
    text = read(repo, name)
    assert old in text
    (repo.path / f"prompts/{name}.yaml").write_text(text.replace(old, new))


def test_bump_changes_only_the_number(git_repo: GitRepo) -> None:
    git_repo.write_prompt("s", STYLED)
    git_repo.commit("v1")
    edit_text(git_repo, "s", "Summarize {{text}}.", "Summarize {{text}} briefly.")
    result = run_cli("version", cwd=git_repo.path)
    assert result.exit_code == 0, result.output
    assert result.stdout == "s: 1 → 2 (prompts/s.yaml)\n"
    expected = STYLED.replace("version: 1   #", "version: 2   #").replace(
        "{{text}}.", "{{text}} briefly."
    )
    assert read(git_repo, "s") == expected
    again = run_cli("version", cwd=git_repo.path)
    assert again.stdout == ""
    assert "already has a new version" in again.stderr
    git_repo.commit("v2")
    untouched = run_cli("version", cwd=git_repo.path)
    assert untouched.exit_code == 0
    assert "no prompt changed since HEAD: nothing to version" in untouched.stderr


def test_check_reports_without_writing(git_repo: GitRepo) -> None:
    git_repo.write_prompt("s", STYLED)
    git_repo.commit("v1")
    edit_text(git_repo, "s", "temperature: 0.2", "temperature: 0.3")
    before = read(git_repo, "s")
    result = run_cli("version", "--check", cwd=git_repo.path)
    assert result.exit_code == 1
    assert "s: 1 → 2" in result.stdout
    assert read(git_repo, "s") == before


def test_revert_keeps_its_number_and_the_next_change_skips_the_reverted_one(
    git_repo: GitRepo,
) -> None:
    git_repo.write_prompt("s", STYLED)
    git_repo.commit("v1")
    edit_text(git_repo, "s", "Summarize", "Condense")
    assert [b.new for b in bump_versions(PromptRepo(git_repo.path))] == [2]
    git_repo.commit("v2")
    git_repo.git("revert", "--no-edit", "HEAD")  # back to v1's content and number
    assert read(git_repo, "s") == STYLED
    assert plan_bumps(PromptRepo(git_repo.path), base="HEAD~1") == []
    edit_text(git_repo, "s", "Summarize", "Shorten")
    (bump,) = bump_versions(PromptRepo(git_repo.path))
    assert (bump.old, bump.new) == (1, 3)  # 2 meant "Condense" once: never again
    assert "version: 3   # bumped by CI" in read(git_repo, "s")


def test_label_only_change_needs_no_bump(git_repo: GitRepo) -> None:
    git_repo.write_prompt("s", STYLED)
    git_repo.commit("v1")
    edit_text(git_repo, "s", "[production]", "[production, staging]")
    assert plan_bumps(PromptRepo(git_repo.path)) == []


def test_new_prompt_keeps_its_number_unless_the_name_was_used(git_repo: GitRepo) -> None:
    git_repo.write_prompt("s", STYLED)
    git_repo.commit("v1")
    git_repo.write_prompt("fresh", "version: 1\nprompt: new\n")
    assert plan_bumps(PromptRepo(git_repo.path)) == []
    git_repo.remove("prompts/s.yaml")
    git_repo.commit("drop s")
    git_repo.write_prompt("s", STYLED.replace("Summarize", "Recreate"))
    (bump,) = plan_bumps(PromptRepo(git_repo.path))
    assert (bump.name, bump.new) == ("s", 2)


def test_registry_versions_count_too(git_repo: GitRepo) -> None:
    git_repo.write_prompt("s", STYLED)
    git_repo.commit("v1")
    edit_text(git_repo, "s", "Summarize", "Condense")
    (bump,) = plan_bumps(PromptRepo(git_repo.path), known_versions={"s": [1, 2, 5]})
    assert bump.new == 6


def test_bump_against_base(git_repo: GitRepo) -> None:
    git_repo.write_prompt("s", STYLED)
    git_repo.commit("v1")
    git_repo.git("checkout", "-q", "-b", "feature")
    edit_text(git_repo, "s", "Summarize", "Condense")
    git_repo.commit("edit without bump")
    result = run_cli("version", "--base", "main", cwd=git_repo.path)
    assert result.stdout == "s: 1 → 2 (prompts/s.yaml)\n"


# -- labels -----------------------------------------------------------------------------

PINNED = """\
# Pinned production.
version: 3
prompt: x  # the text
labels:   # moved by hand
  production: 2   # stays until promoted
  staging: 3
tags: [a]
"""


def test_promote_edits_only_the_number_in_a_block_mapping(git_repo: GitRepo) -> None:
    for version in (1, 2, 3):
        git_repo.write_prompt("p", PINNED.replace("version: 3", f"version: {version}"))
        git_repo.commit(f"v{version}")
    result = run_cli("label", "set", "p", "production", "3", cwd=git_repo.path)
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "p: production v2 → v3 (prompts/p.yaml)"
    assert read(git_repo, "p") == PINNED.replace("production: 2 ", "production: 3 ")
    run_cli("label", "set", "p", "canary", "1", cwd=git_repo.path)
    assert read(git_repo, "p") == PINNED.replace("production: 2 ", "production: 3 ").replace(
        "  staging: 3\n", "  staging: 3\n  canary: 1\n"
    )
    run_cli("label", "rm", "p", "staging", cwd=git_repo.path)
    assert "staging" not in read(git_repo, "p")
    assert "  production: 3   # stays until promoted\n  canary: 1\n" in read(git_repo, "p")


def test_list_form_grows_and_turns_into_a_mapping_for_a_pin(git_repo: GitRepo) -> None:
    git_repo.write_prompt("s", STYLED)
    git_repo.commit("v1")
    git_repo.write_prompt("s", STYLED.replace("version: 1", "version: 2").replace("{{text}}", "X"))
    git_repo.commit("v2")
    run_cli("label", "set", "s", "staging", cwd=git_repo.path)
    assert "labels: [production, staging]\n" in read(git_repo, "s")
    result = run_cli("label", "set", "s", "production", "1", cwd=git_repo.path)
    assert result.exit_code == 0, result.output
    expected = STYLED.replace("version: 1", "version: 2").replace("{{text}}", "X")
    expected = expected.replace("[production]", "{production: 1, staging: 2}")
    assert read(git_repo, "s") == expected


def test_block_list_keeps_its_style_and_comments(git_repo: GitRepo) -> None:
    text = "version: 1\nprompt: x\nlabels:\n  - production  # live\n# between\ntags: [a]\n"
    git_repo.write_prompt("b", text)
    git_repo.commit()
    run_cli("label", "set", "b", "staging", cwd=git_repo.path)
    assert read(git_repo, "b") == text.replace("# live\n", "# live\n  - staging\n")
    run_cli("label", "rm", "b", "production", cwd=git_repo.path)
    assert (
        read(git_repo, "b") == "version: 1\nprompt: x\nlabels:\n  - staging\n# between\ntags: [a]\n"
    )
    run_cli("label", "rm", "b", "staging", cwd=git_repo.path)
    assert read(git_repo, "b") == "version: 1\nprompt: x\nlabels: []\n# between\ntags: [a]\n"


def test_file_without_labels_gets_a_line_and_odd_names_are_quoted(git_repo: GitRepo) -> None:
    git_repo.write_prompt("n", "version: 1\nprompt: x")  # no newline at the end
    git_repo.commit()
    run_cli("label", "set", "n", "production", cwd=git_repo.path)
    run_cli("label", "set", "n", "no", cwd=git_repo.path)
    assert read(git_repo, "n") == 'version: 1\nprompt: x\nlabels: [production, "no"]\n'
    loaded = PromptRepo(git_repo.path).load()["n"]
    assert loaded.spec.labels == ["production", "no"]


def test_label_errors_are_usage_errors(example_repo: GitRepo) -> None:
    cases = [
        (("set", "summarize", "latest"), "`latest` is always"),
        (("set", "summarize", "Prod"), "not a valid label"),
        (("set", "summarize", "production", "7"), "cannot point to 7"),
        (("set", "nope", "production"), "no prompt named 'nope'"),
        (("rm", "summarize", "canary"), "has no label 'canary'"),
    ]
    for args, words in cases:
        result = run_cli("label", *args, cwd=example_repo.path)
        assert result.exit_code == 2, (args, result.output)
        assert words in result.stderr


def test_pin_to_a_version_from_history(example_repo: GitRepo) -> None:
    result = run_cli("label", "set", "summarize", "canary", "1", cwd=example_repo.path)
    assert result.exit_code == 0, result.output
    assert "labels: {production: 1, staging: 2, canary: 1}" in read(example_repo, "summarize")
    assert run_cli("validate", cwd=example_repo.path).exit_code == 0
