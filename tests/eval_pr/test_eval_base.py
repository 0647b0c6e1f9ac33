"""`promptrail eval --base`: a real git repository, a base and a head, a local LLM server."""

from __future__ import annotations

from conftest import GitRepo, run_cli
from promptrail.testing.fake_openai import FakeOpenAI

from .conftest import BAD, GOOD, eval_base, prompt_file


def branch(repo: GitRepo, base_text: str, head_text: str, **options: object) -> None:
    repo.write_prompt("capital", prompt_file(base_text, 1, **options))  # type: ignore[arg-type]
    repo.commit("capital v1")
    repo.git("checkout", "-q", "-b", "change")
    repo.write_prompt("capital", prompt_file(head_text, 2, **options))  # type: ignore[arg-type]
    repo.commit("capital v2")


def test_a_head_that_makes_answers_worse_fails_the_gate(
    eval_repo: GitRepo, llm_env: FakeOpenAI
) -> None:
    branch(eval_repo, GOOD + "?", BAD + ".")
    code, report, _ = eval_base(eval_repo.path)
    assert code == 1
    assert report["gate"]["passed"] is False
    (entry,) = report["prompts"]
    assert entry["name"] == "capital"
    assert entry["changed"] == ["content"]
    exact = entry["comparison"]["exact"]
    assert exact["base"] == 1.0
    assert exact["head"] == 0.0
    assert exact["verdict"] == "worse"
    assert exact["ci"] == [-1.0, -1.0]
    assert exact["losses"] == 12
    failed = [c for c in entry["gate"]["checks"] if not c["passed"]]
    assert failed[0]["evaluator"] == "exact"
    first = entry["changed_items"][0]
    assert first["flipped"] == {"exact": "broken"}
    assert first["input"] == {"country": "France"}
    assert first["base"]["output"] == "Paris"
    assert first["word_diff"].startswith("[-Paris-]{+")


def test_a_head_that_improves_passes_and_is_reported_better(
    eval_repo: GitRepo, llm_env: FakeOpenAI
) -> None:
    branch(eval_repo, BAD + ".", GOOD + "?")
    code, report, _ = eval_base(eval_repo.path)
    assert code == 0, report
    exact = report["prompts"][0]["comparison"]["exact"]
    assert (exact["base"], exact["head"], exact["verdict"]) == (0.0, 1.0, "better")
    assert exact["wins"] == 12
    text = run_cli("eval", "--base", "main", cwd=eval_repo.path)
    assert text.exit_code == 0
    assert "exact" in text.stdout
    assert "improvement" in text.stdout


def test_a_wording_change_with_identical_answers_is_no_detectable_change(
    eval_repo: GitRepo, llm_env: FakeOpenAI
) -> None:
    branch(eval_repo, GOOD + "?", GOOD + ", please?  ")
    code, report, _ = eval_base(eval_repo.path)
    assert code == 0
    exact = report["prompts"][0]["comparison"]["exact"]
    assert exact["verdict"] == "same"
    assert exact["diff"] == 0.0
    assert exact["ties"] == 12
    assert report["prompts"][0]["changed_items"] == []


def test_a_second_run_of_the_same_pull_request_makes_no_llm_call(
    eval_repo: GitRepo, llm_env: FakeOpenAI
) -> None:
    branch(eval_repo, BAD + ".", GOOD + "?", samples=2)
    code, first, _ = eval_base(eval_repo.path)
    assert code == 0
    assert first["llm_calls"] == 12 * 2 * 2
    calls = len(llm_env.requests)
    code, second, _ = eval_base(eval_repo.path)
    assert code == 0
    assert len(llm_env.requests) == calls
    assert second["llm_calls"] == 0
    assert second["prompts"][0]["comparison"] == first["prompts"][0]["comparison"]


def test_unchanged_prompts_are_not_evaluated_and_the_default_base_is_the_merge_base(
    eval_repo: GitRepo, llm_env: FakeOpenAI
) -> None:
    branch(eval_repo, GOOD + "?", GOOD + "?")  # v2 with the same content: nothing to do
    eval_repo.git("checkout", "-q", "main")
    result = run_cli("eval", "--head", "change", "--format", "json", cwd=eval_repo.path)
    assert result.exit_code == 0, result.output
    assert '"prompts": []' in result.stdout
    assert llm_env.requests == []


def test_a_dataset_change_alone_reruns_both_sides(eval_repo: GitRepo, llm_env: FakeOpenAI) -> None:
    eval_repo.write_prompt("capital", prompt_file(GOOD + "?", 1))
    eval_repo.commit("capital v1")
    eval_repo.git("checkout", "-q", "-b", "more-data")
    text = (eval_repo.path / "datasets/capitals.yaml").read_text()
    eval_repo.write("datasets/capitals.yaml", text.replace("Paris", "Lutetia"))
    code, report, _ = eval_base(eval_repo.path)  # the working tree: uncommitted is fine
    (entry,) = report["prompts"]
    assert entry["changed"] == ["dataset"]
    assert entry["comparison"]["exact"]["verdict"] == "same"  # both sides miss Lutetia
    assert entry["comparison"]["exact"]["head"] == 11 / 12
    assert code == 0


def test_the_pr_comment_gains_the_evaluation_section(
    eval_repo: GitRepo, llm_env: FakeOpenAI, tmp_path
) -> None:
    branch(eval_repo, GOOD + "?", BAD + ".")
    result = run_cli("eval", "--base", "main", "--format", "json", cwd=eval_repo.path)
    assert result.exit_code == 1
    report = tmp_path / "eval.json"
    report.write_text(result.stdout)
    comment = run_cli(
        "comment", "--diff", "main", "--eval", str(report), "--dry-run", cwd=eval_repo.path
    )
    assert comment.exit_code == 0, comment.output
    body = comment.stdout
    assert body.index("| `capital` |") < body.index("#### Evaluation")  # the diff first
    assert "❌ **gate failed**" in body
    assert "| `exact` | 1.000 | 0.000 | -1.000 [-1.000, -1.000] | ❌ regression |" in body
    assert "<summary>12 item(s) changed; the first 5</summary>" in body
    assert "<del>Paris</del>" in body
    bad = run_cli("comment", "--eval", str(report), "--dry-run", cwd=eval_repo.path)
    assert bad.exit_code == 2
    assert "--eval goes with --diff" in bad.stderr
