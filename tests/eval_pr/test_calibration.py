"""Calibration end to end: a noisy model, identical versions, many pull requests.

The server answers right with probability P whatever the wording, so a head that changes
only whitespace is exactly as good as its base: every "better" or "worse" is a false
alarm. Each repetition is one `eval --base` with fresh draws (a new seed, no cache), with
samples, so the interval must carry the per-item variance.
"""

from __future__ import annotations

import hashlib
import threading
from collections import Counter
from collections.abc import Callable

import pytest

from conftest import GitRepo
from promptrail.eval.pr import PrOptions, evaluate
from promptrail.eval.setup import EvalOptions
from promptrail.repo.repository import PromptRepo
from promptrail.testing.fake_openai import FakeOpenAI

from .conftest import CAPITALS, GOOD, prompt_file

P = 0.7
REPETITIONS = 60
SAMPLES = 3


class NoisyModel:
    """Right with probability P; the k-th identical request draws hash(seed, text, k), so
    the answers an item gets do not depend on the order concurrent requests arrive in."""

    def __init__(self) -> None:
        self.seed = 0
        self.seen: Counter[str] = Counter()
        self.lock = threading.Lock()

    def answer(self, right: str) -> Callable[[str], str]:
        def reply(text: str) -> str:
            with self.lock:
                occurrence = self.seen[text]
                self.seen[text] += 1
            digest = hashlib.sha256(f"{self.seed}|{text}|{occurrence}".encode()).digest()
            return right if int.from_bytes(digest[:8]) / 2**64 < P else "I am not sure."

        return reply

    def next_repetition(self, seed: int) -> None:
        with self.lock:
            self.seed, self.seen = seed, Counter()


@pytest.mark.slow
def test_identical_versions_are_flagged_no_more_often_than_the_confidence_allows(
    eval_repo: GitRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = NoisyModel()
    with FakeOpenAI() as fake:
        for country, capital in CAPITALS.items():
            fake.reply_when(GOOD.replace("{{country}}", country), model.answer(capital))
        eval_repo.write_prompt("capital", prompt_file(GOOD + "?", 1, samples=SAMPLES))
        eval_repo.commit("v1")
        eval_repo.write_prompt("capital", prompt_file(GOOD + "? ", 2, samples=SAMPLES))
        options = PrOptions(
            base="HEAD",
            run=EvalOptions(
                prompt="",
                base_url=fake.url,
                api_key="sk-test",
                use_cache=False,
                show_progress=False,
            ),
        )
        verdicts: Counter[str] = Counter()
        heads = []
        for repetition in range(REPETITIONS):
            model.next_repetition(repetition)
            report = evaluate(PromptRepo(eval_repo.path), options)
            exact = report["prompts"][0]["comparison"]["exact"]
            verdicts[exact["verdict"]] += 1
            heads.append(exact["head"])
            assert report["gate"]["passed"] == (exact["verdict"] != "worse")
        assert len(fake.requests) == REPETITIONS * 2 * len(CAPITALS) * SAMPLES
    # The answers really were noisy: the head's pass rate moved around P.
    assert min(heads) < P < max(heads)
    assert abs(sum(heads) / len(heads) - P) < 0.05
    # At a 5% false-alarm rate, more than 8 of 60 happens with probability under 1%.
    assert verdicts["better"] + verdicts["worse"] <= 8, verdicts
