"""Sticky A/B: each key keeps one variant, in every process, in the proportions asked."""

from __future__ import annotations

import collections
import subprocess
import sys

import pytest

from conftest import GitRepo
from promptrail.client import Client
from promptrail.client._core import choose_variant
from promptrail.errors import UsageError

SPLIT = {"prod-a": 0.5, "prod-b": 0.5}


def test_each_key_keeps_its_variant_across_processes() -> None:
    keys = [f"user-{i}" for i in range(50)]
    here = [choose_variant("support/reply", SPLIT, key) for key in keys]
    assert here == [choose_variant("support/reply", dict(reversed(SPLIT.items())), k) for k in keys]
    code = (
        "from promptrail.client._core import choose_variant\n"
        f"print(','.join(choose_variant('support/reply', {SPLIT!r}, k) for k in {keys!r}))"
    )
    # A new interpreter has another hash() seed: the split must not depend on it.
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONHASHSEED": "12345"},
    )
    assert out.stdout.strip().split(",") == here
    # Pinned: changing the hash would move users who are mid-experiment to the other variant.
    assert [choose_variant("x", SPLIT, k) for k in "abcdef"] == [
        "prod-b",
        "prod-b",
        "prod-a",
        "prod-a",
        "prod-b",
        "prod-a",
    ]


def test_weights_are_normalized_proportions() -> None:
    counts = collections.Counter(
        choose_variant("p", {"a": 3, "b": 1, "off": 0}, i) for i in range(20_000)
    )
    assert counts["off"] == 0
    assert 0.72 < counts["a"] / 20_000 < 0.78


@pytest.mark.parametrize(
    ("split", "key", "message"),
    [
        (SPLIT, None, "pass key="),
        ({"a": -1}, "u", "weights >= 0"),
        ({"a": 0}, "u", "above 0"),
        ({"a": "half"}, "u", "weights"),
    ],
)
def test_bad_splits_are_usage_errors(split: dict, key: object, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        choose_variant("p", split, key)


def test_the_chosen_label_travels_with_the_prompt(git_repo: GitRepo) -> None:
    git_repo.write_prompt("reply", "version: 2\nprompt: B\nlabels: {prod-a: 1, prod-b: 2}\n")
    git_repo.commit("v2")
    git_repo.write_prompt("reply", "version: 1\nprompt: A\nlabels: [prod-a]\n")
    git_repo.commit("v1 back on disk")  # history holds v2; the file on disk is v1
    git_repo.write_prompt("reply", "version: 2\nprompt: B\nlabels: {prod-a: 1, prod-b: 2}\n")
    client = Client(prompts_dir=git_repo.path)
    seen = {}
    for user in range(40):
        prompt = client.get_prompt("reply", label=SPLIT, key=user)
        assert prompt.label == choose_variant("reply", SPLIT, user)
        assert prompt.prompt == {"prod-a": "A", "prod-b": "B"}[prompt.label]
        assert client.get_prompt("reply", label=SPLIT, key=user) is prompt
        seen[prompt.label] = prompt.version
    assert seen == {"prod-a": 1, "prod-b": 2}
