"""Every validate rule, passing and failing, on real git repositories."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import GitRepo, run_cli
from promptrail.api.registry import PromptState, RegistryState
from promptrail.errors import Problem
from promptrail.gitops.validate import validate
from promptrail.repo.repository import PromptRepo

TEXT = """\
version: {version}
prompt: "{text}"
config: {{model: gpt-4o}}
labels: [production]
"""


def write_text(repo: GitRepo, name: str, text: str = "Hello {{who}}", version: int = 1) -> None:
    repo.write_prompt(name, TEXT.format(version=version, text=text))


def problems(repo: GitRepo, base: str | None = None, **kwargs: object) -> list[Problem]:
    return validate(PromptRepo(repo.path), base=base, **kwargs)  # type: ignore[arg-type]


def codes(found: list[Problem]) -> list[str]:
    return [p.code for p in found]


def test_example_repository_is_valid(example_repo: GitRepo) -> None:
    result = run_cli("validate", cwd=example_repo.path)
    assert result.exit_code == 0, result.output
    assert "ok: 4 prompts are valid" in result.stdout


def test_unknown_key_suggests_the_known_one(git_repo: GitRepo) -> None:
    git_repo.write_prompt("a", 'version: 1\npromt: "Hi"\nconfig: {model: m}\n')
    found = problems(git_repo)
    unknown = next(p for p in found if "promt" in p.message)
    assert unknown.code == "schema"
    assert "did you mean `prompt`?" in unknown.message
    assert (unknown.file, unknown.line) == ("prompts/a.yaml", 2)


def test_file_name_that_is_not_a_prompt_name(git_repo: GitRepo) -> None:
    git_repo.write("prompts/Bad Name.yaml", TEXT.format(version=1, text="x"))
    found = problems(git_repo)
    assert codes(found) == ["name"]
    assert found[0].file == "prompts/Bad Name.yaml"
    assert "rename the file" in found[0].message


def test_two_files_for_one_name_clash(git_repo: GitRepo) -> None:
    write_text(git_repo, "a")
    git_repo.write("prompts/a.yml", TEXT.format(version=1, text="y"))
    found = problems(git_repo)
    clash = [p for p in found if p.code == "name-clash"]
    assert len(clash) == 1
    assert "prompts/a.yaml" in clash[0].message
    assert "prompts/a.yml" in clash[0].message


def test_template_error_points_at_the_line_inside_a_block_scalar(git_repo: GitRepo) -> None:
    git_repo.write_prompt(
        "a",
        """
        version: 1
        prompt: |
          First line is fine.
          Second line {{ is not
          Third.
        config: {model: m}
        """,
    )
    git_repo.commit()
    found = problems(git_repo)
    assert codes(found) == ["template"]
    assert found[0].line in (4, 5)  # Jinja reports where the expression runs out
    assert "`prompt`" in found[0].message


def test_template_error_in_a_chat_message_names_the_message(git_repo: GitRepo) -> None:
    git_repo.write_prompt(
        "c",
        """
        version: 1
        type: chat
        messages:
          - role: system
            content: fine {{x}}
          - role: user
            content: "{% if %}"
        config: {model: m}
        """,
    )
    found = problems(git_repo)
    assert codes(found) == ["template"]
    assert found[0].line == 7
    assert "messages[1].content` (user)" in found[0].message


def test_unknown_filter_is_a_template_error(git_repo: GitRepo) -> None:
    write_text(git_repo, "a", text="{{ who | shout }}")
    found = problems(git_repo)
    assert codes(found) == ["template"]
    assert "shout" in found[0].message


@pytest.mark.parametrize(
    ("labels", "code", "words"),
    [
        ("[production, production]", "label-duplicate", "listed 2 times"),
        ("[Production]", "label-name", "not a valid label name"),
        ("[latest]", "label-latest", "set automatically"),
        ("{production: 3}", "label-ahead", "above the file's version 2"),
        ("[production, pr-12]", "label-preview", "prefix of preview labels"),
    ],
)
def test_label_rules(git_repo: GitRepo, labels: str, code: str, words: str) -> None:
    git_repo.write_prompt("a", f"version: 2\nprompt: x\nconfig: {{model: m}}\nlabels: {labels}\n")
    git_repo.commit()
    found = problems(git_repo)
    assert codes(found) == [code]
    assert words in found[0].message
    assert found[0].line == 4


def test_pin_to_a_version_from_git_history_passes(example_repo: GitRepo) -> None:
    assert problems(example_repo) == []


def test_pin_to_a_version_never_in_history_fails(example_repo: GitRepo) -> None:
    text = (example_repo.path / "prompts/summarize.yaml").read_text()
    text = text.replace("version: 2", "version: 4").replace("production: 1", "production: 3")
    example_repo.write_prompt("summarize", text)
    found = problems(example_repo)
    assert codes(found) == ["label-pin-unknown"]
    assert "version 3" in found[0].message
    assert "(versions: 1, 2, 4)" in found[0].message


def test_pin_known_only_to_the_registry_passes(git_repo: GitRepo) -> None:
    git_repo.write_prompt(
        "a", "version: 3\nprompt: x\nconfig: {model: m}\nlabels: {production: 2, staging: 3}\n"
    )
    git_repo.commit()
    assert codes(problems(git_repo)) == ["label-pin-unknown"]
    state = RegistryState(prompts={"a": PromptState(versions={2: "f" * 64})})
    assert problems(git_repo, registry_state=state) == []


def test_content_change_without_bump_fails_against_base(git_repo: GitRepo) -> None:
    write_text(git_repo, "a", "Hello {{who}}")
    git_repo.commit("v1")
    write_text(git_repo, "a", "Hi there {{who}}")
    found = problems(git_repo, base="HEAD")
    assert codes(found) == ["version-not-bumped"]
    assert "run `promptrail version --base HEAD`" in found[0].message
    assert found[0].line == 1
    write_text(git_repo, "a", "Hi there {{who}}", version=2)
    assert problems(git_repo, base="HEAD") == []


def test_label_only_change_needs_no_bump(git_repo: GitRepo) -> None:
    write_text(git_repo, "a")
    git_repo.commit("v1")
    text = (git_repo.path / "prompts/a.yaml").read_text()
    git_repo.write_prompt("a", text.replace("[production]", "[production, staging]"))
    assert problems(git_repo, base="HEAD") == []


def test_bump_without_content_change_is_a_warning(git_repo: GitRepo) -> None:
    write_text(git_repo, "a")
    git_repo.commit("v1")
    write_text(git_repo, "a", version=2)
    found = problems(git_repo, base="HEAD")
    assert codes(found) == ["version-without-change"]
    assert run_cli("validate", "--base", "HEAD", cwd=git_repo.path).exit_code == 0


def test_version_number_reused_for_other_content_fails(git_repo: GitRepo) -> None:
    write_text(git_repo, "a", "one")
    git_repo.commit("v1")
    write_text(git_repo, "a", "two", version=2)
    git_repo.commit("v2")
    write_text(git_repo, "a", "three", version=1)  # number 1 meant "one"
    found = problems(git_repo)
    assert codes(found) == ["version-reused"]
    assert "version 1 had other content" in found[0].message
    assert "bump to 3" in found[0].message


def test_drafts_of_a_new_version_committed_on_a_branch_pass(git_repo: GitRepo) -> None:
    write_text(git_repo, "a", "one")
    git_repo.commit("v1")
    git_repo.git("checkout", "-q", "-b", "feature")
    write_text(git_repo, "a", "two, draft", version=2)
    git_repo.commit("v2 draft")
    write_text(git_repo, "a", "two, final", version=2)
    git_repo.commit("v2 final")
    assert problems(git_repo) == []
    assert problems(git_repo, base="main") == []
    write_text(git_repo, "a", "two, edited after commit", version=2)
    assert codes(problems(git_repo)) == ["version-reused"]


def test_edit_without_bump_is_caught_without_base(git_repo: GitRepo) -> None:
    write_text(git_repo, "a", "one")
    git_repo.commit("v1")
    write_text(git_repo, "a", "one, edited")
    assert codes(problems(git_repo)) == ["version-reused"]


def test_revert_to_an_earlier_version_passes(git_repo: GitRepo) -> None:
    write_text(git_repo, "a", "one")
    git_repo.commit("v1")
    write_text(git_repo, "a", "two", version=2)
    git_repo.commit("v2")
    git_repo.git("revert", "--no-edit", "HEAD")
    assert problems(git_repo, base="HEAD~1") == []


def test_lowering_to_a_number_never_used_fails(git_repo: GitRepo) -> None:
    write_text(git_repo, "a", "one", version=5)
    git_repo.commit("v5")
    write_text(git_repo, "a", "two", version=3)
    found = problems(git_repo, base="HEAD")
    assert codes(found) == ["version-lowered"]


def test_chat_placeholders_must_be_unique_and_not_variables(git_repo: GitRepo) -> None:
    git_repo.write_prompt(
        "c",
        """
        version: 1
        type: chat
        messages:
          - role: placeholder
            name: history
          - role: placeholder
            name: history
          - role: user
            content: "{{history}} {{question}}"
        config: {model: m}
        """,
    )
    assert sorted(codes(problems(git_repo))) == ["placeholder-clash", "placeholder-duplicate"]


def test_missing_model_is_only_a_warning(git_repo: GitRepo) -> None:
    git_repo.write_prompt("a", "version: 1\nprompt: hi\n")
    git_repo.commit()
    result = run_cli("validate", cwd=git_repo.path)
    assert result.exit_code == 0
    assert "warning[no-model]" in result.stdout
    assert "1 warning" in result.stdout


def test_registry_with_other_content_for_the_number_says_bump(git_repo: GitRepo) -> None:
    write_text(git_repo, "a")
    git_repo.commit()
    state = RegistryState(prompts={"a": PromptState(versions={1: "0" * 64, 2: "1" * 64})})
    found = problems(git_repo, registry_state=state)
    assert codes(found) == ["registry-conflict"]
    assert "bump to 3" in found[0].message
    mine = PromptRepo(git_repo.path).load()["a"].hash
    same = RegistryState(prompts={"a": PromptState(versions={1: mine})})
    assert problems(git_repo, registry_state=same) == []


def test_every_problem_is_reported_in_one_run(git_repo: GitRepo) -> None:
    git_repo.write_prompt("bad-yaml", "version: 1\nprompt: [unclosed\n")
    git_repo.write_prompt("bad-type", "version: one\nprompt: x\n")
    write_text(git_repo, "bad-template", "{{ x")
    write_text(git_repo, "good")
    git_repo.commit()
    result = run_cli("validate", cwd=git_repo.path)
    assert result.exit_code == 1
    for file in ("bad-yaml", "bad-type", "bad-template"):
        assert f"prompts/{file}.yaml:" in result.stdout
    assert "3 errors in 3 files" in result.stdout


def test_folder_outside_git_is_an_error(tmp_path) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "plain"
    (folder / "prompts").mkdir(parents=True)
    (folder / "prompts/a.yaml").write_text(TEXT.format(version=1, text="x"))
    result = run_cli("validate", str(folder))
    assert result.exit_code == 1
    assert "not inside a git repository" in result.stdout
    assert "git init" in result.stdout


# -- output formats ---------------------------------------------------------------------


@pytest.fixture
def broken(git_repo: GitRepo) -> GitRepo:
    git_repo.write_prompt("a", "version: 1\nprompt: x\nconfig: {model: m}\nlabels: [latest]\n")
    git_repo.write_prompt("b", "version: 1\nprompt: 'ok, 100%: {{ x'\nconfig: {model: m}\n")
    git_repo.write_prompt("c", "version: 1\nprompt: fine\n")
    git_repo.commit()
    return git_repo


def test_text_format_groups_by_file_with_a_summary(broken: GitRepo) -> None:
    result = run_cli("validate", cwd=broken.path)
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert lines[0].startswith("prompts/a.yaml:4: error[label-latest]: ")
    assert any(line.startswith("prompts/b.yaml:2: error[template]: ") for line in lines)
    assert any(line.startswith("prompts/c.yaml:1: warning[no-model]: ") for line in lines)
    assert lines[-1] == "2 errors in 2 files, 1 warning"


def test_json_format_is_a_list_of_objects(broken: GitRepo) -> None:
    result = run_cli("validate", "--format", "json", cwd=broken.path)
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert [(d["file"], d["line"], d["code"], d["severity"]) for d in data] == [
        ("prompts/a.yaml", 4, "label-latest", "error"),
        ("prompts/b.yaml", 2, "template", "error"),
        ("prompts/c.yaml", 1, "no-model", "warning"),
    ]
    assert data[0]["name"] == "a"
    assert "latest" in data[0]["message"]


def test_github_format_prints_workflow_annotations(broken: GitRepo) -> None:
    result = run_cli("validate", "--format", "github", cwd=broken.path)
    assert result.exit_code == 1
    annotations = [line for line in result.stdout.splitlines() if line.startswith("::")]
    parsed = []
    for line in annotations:
        command, _, message = line[2:].partition("::")
        level, _, props = command.partition(" ")
        fields = dict(part.split("=", 1) for part in props.split(","))
        parsed.append((level, fields, message))
    assert [(lvl, f["file"], f.get("line")) for lvl, f, _ in parsed] == [
        ("error", "prompts/a.yaml", "4"),
        ("error", "prompts/b.yaml", "2"),
        ("warning", "prompts/c.yaml", "1"),
    ]
    assert parsed[0][1]["title"] == "promptrail label-latest"
    assert "\n" not in parsed[1][2]


def test_github_format_prints_nothing_when_there_is_nothing_to_report(
    example_repo: GitRepo,
) -> None:
    # A step log (and the annotations) stay empty; the exit status says it passed.
    for args in ((), ("--base", "HEAD~1")):
        result = run_cli("validate", "--format", "github", *args, cwd=example_repo.path)
        assert (result.exit_code, result.stdout, result.stderr) == (0, "", "")


def test_github_escaping_follows_workflow_command_rules() -> None:
    from promptrail.gitops.report import render_github

    problem = Problem("50% off\nnext: line", "prompts/a,b:c.yaml", 3, "template")
    line = render_github([problem]).splitlines()[0]
    assert line == (
        "::error file=prompts/a%2Cb%3Ac.yaml,line=3,title=promptrail template"
        "::50%25 off%0Anext: line"
    )


def test_unknown_format_is_a_usage_error(example_repo: GitRepo) -> None:
    result = run_cli("validate", "--format", "xml", cwd=example_repo.path)
    assert result.exit_code == 2
    assert "--format" in result.stderr


def test_validate_reads_the_registry_state_from_a_real_server(
    git_repo: GitRepo, tmp_path: Path
) -> None:
    from appserver import AppServer
    from promptrail.api.client import RegistryClient
    from promptrail.api.registry import PublishRequest, VersionUpload
    from promptrail.repo.spec import content_hash, content_of

    write_text(git_repo, "a", "mine")
    git_repo.commit()
    with AppServer(f"sqlite:///{tmp_path / 'registry.db'}") as server:
        assert run_cli("validate", "--registry", server.url, cwd=git_repo.path).exit_code == 0
        other = content_of("text", "other", None, {"model": "gpt-4o"})
        theirs = VersionUpload(
            name="a",
            version=1,
            type="text",
            prompt="other",
            config=other["config"],
            hash=content_hash(other),
        )
        with RegistryClient(server.url) as client:
            client.publish(PublishRequest(versions=[theirs]))
        result = run_cli("validate", "--registry", server.url, cwd=git_repo.path)
    assert result.exit_code == 1
    assert "error[registry-conflict]" in result.stdout
    assert "bump to 2" in result.stdout


# -- what validate looks at -----------------------------------------------------------------


def test_a_repository_without_prompts_folder_is_refused_not_linted(git_repo: GitRepo) -> None:
    git_repo.write("docker-compose.yml", "services: {web: {image: nginx}}\n")
    git_repo.commit("compose")
    result = run_cli("validate", cwd=git_repo.path)
    assert result.exit_code == 1
    assert "no-prompts" in result.stdout
    assert "docker-compose.yml" not in result.stdout


def test_a_parent_folder_does_not_walk_into_the_repositories_below(
    git_repo: GitRepo, tmp_path: Path
) -> None:
    # tmp_path holds a broken prompt of its own and, below it, a repository with another.
    (tmp_path / "stray.yaml").write_text("version: one\n")
    git_repo.write_prompt("inner", "version: one\n")
    found = validate(PromptRepo(tmp_path))
    assert {p.file for p in found if p.code == "schema"} == {f"{tmp_path.name}/stray.yaml"}


def test_single_files_report_only_their_own_problems(git_repo: GitRepo) -> None:
    write_text(git_repo, "good")
    git_repo.write_prompt("bad", "version: one\nprompt: hi\n")
    git_repo.write_prompt("other", "version: two\nprompt: hi\n")
    git_repo.commit("three")

    one = run_cli("validate", "prompts/bad.yaml", cwd=git_repo.path)
    assert one.exit_code == 1
    assert "prompts/bad.yaml:1" in one.stdout
    assert "other" not in one.stdout

    clean = run_cli("validate", str(git_repo.path / "prompts/good.yaml"))
    assert clean.exit_code == 0, clean.output
    assert "ok: 1 prompt is valid" in clean.stdout

    outside = run_cli("validate", "docker-compose.yml", cwd=git_repo.path)
    assert outside.exit_code == 2


def test_a_schema_error_does_not_hide_a_template_error_in_the_same_file(
    git_repo: GitRepo,
) -> None:
    git_repo.write_prompt(
        "mixed",
        "version: 1\ntype: chat\ntags: 3\nmessages:\n"
        "  - role: system\n    content: fine {{ who }}\n"
        "  - role: user\n    content: |\n      first line\n      {% if x %} never closed\n",
    )
    found = problems(git_repo)
    assert [(p.code, p.line) for p in found if p.code in ("schema", "template")] == [
        ("schema", 3),
        ("template", 10),
    ]
