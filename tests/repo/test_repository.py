"""The loader: a folder, a git ref, and each prompt's history."""

from __future__ import annotations

from conftest import GitRepo
from promptrail.repo.repository import PromptRepo, versions_in_history


def test_loads_every_prompt_of_the_working_tree(example_repo: GitRepo) -> None:
    prompts = PromptRepo(example_repo.path).load()
    assert sorted(prompts.prompts) == [
        "customer-email",
        "summarize",
        "support/reply",
        "support/triage",
    ]
    triage = prompts["support/triage"]
    assert triage.path == "prompts/support/triage.yaml"
    assert triage.spec.type == "chat"
    assert triage.line("messages", 1, "name") == 10


def test_prompts_folder_itself_and_without_git(tmp_path) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "prompts"
    (folder / "team").mkdir(parents=True)
    (folder / "team/a.yaml").write_text("version: 1\nprompt: hi\n")
    for path in (tmp_path, folder):
        repo = PromptRepo(path)
        assert not repo.is_git
        loaded = repo.load()
        assert list(loaded.prompts) == ["team/a"]
        assert loaded["team/a"].path == "prompts/team/a.yaml"


def test_loads_a_git_ref_without_touching_the_working_tree(example_repo: GitRepo) -> None:
    (example_repo.path / "prompts/summarize.yaml").write_text("version: [broken\n")
    repo = PromptRepo(example_repo.path)
    assert repo.load("HEAD")["summarize"].version == 2
    assert repo.load("HEAD~1")["summarize"].version == 1
    assert repo.load(None).problems[0].file == "prompts/summarize.yaml"


def test_history_lists_each_version_with_commit_author_and_date(example_repo: GitRepo) -> None:
    history = PromptRepo(example_repo.path).history(["summarize"])["summarize"]
    assert [entry.version for entry in history] == [1, 2]
    first = history[0].commit
    assert first.author == "Ada Author <ada@example.com>"
    assert first.message == "first prompts"
    assert first.date[:4].isdigit()
    assert "T" in first.date
    assert len(first.sha) == 40
    assert versions_in_history(history) == {1: history[0].hash, 2: history[1].hash}


def test_yaml_and_yml_for_one_name_clash(git_repo: GitRepo) -> None:
    git_repo.write_prompt("a", "version: 1\nprompt: x\n")
    git_repo.write("prompts/a.yml", "version: 1\nprompt: y\n")
    git_repo.commit()
    for ref in (None, "HEAD"):
        loaded = PromptRepo(git_repo.path).load(ref)
        assert [p.code for p in loaded.problems] == ["name-clash"]
        assert "two files define prompt 'a'" in loaded.problems[0].message


def test_changed_compares_indexes(example_repo: GitRepo) -> None:
    repo = PromptRepo(example_repo.path)
    assert repo.changed("HEAD~1", "HEAD") == (set(), set(), {"summarize"})
    example_repo.remove("prompts/customer-email.yaml")
    example_repo.write_prompt("extra", "version: 1\nprompt: x\n")
    assert repo.changed("HEAD") == ({"extra"}, {"customer-email"}, set())


TUNED = """\
version: 1
labels: [production]
prompt: "Hello"
config:
  model: m
  temperature: 0.2
"""


def test_history_has_the_content_a_merge_made(git_repo: GitRepo) -> None:
    # main retunes the config while a branch rewrites the text, both as version 2: git
    # merges them cleanly into content that no commit on either side has.
    git_repo.write_prompt("p", TUNED)
    git_repo.commit("v1")
    git_repo.git("checkout", "-q", "-b", "reword")
    git_repo.write_prompt("p", TUNED.replace("1", "2").replace('"Hello"', '"Hello there"'))
    git_repo.commit("reword")
    git_repo.git("checkout", "-q", "main")
    git_repo.write_prompt("p", TUNED.replace("1", "2").replace("0.2", "0.5"))
    git_repo.commit("retune")
    git_repo.git("merge", "-q", "--no-ff", "-m", "merge reword", "reword")
    repo = PromptRepo(git_repo.path)
    merged = repo.load()["p"]
    assert (merged.spec.prompt, merged.spec.config["temperature"]) == ("Hello there", 0.5)
    history = repo.history(["p"])["p"]
    messages = [e.commit.message for e in history]  # the two sides in either order
    assert (messages[0], sorted(messages[1:3]), messages[3:]) == (
        "v1",
        ["retune", "reword"],
        ["merge reword"],
    )
    assert (history[-1].commit.sha, history[-1].hash) == (git_repo.head(), merged.hash)
    git_repo.remove("prompts/p.yaml")
    git_repo.commit("drop p")  # a deletion is no content
    assert len(repo.history(["p"])["p"]) == 4
