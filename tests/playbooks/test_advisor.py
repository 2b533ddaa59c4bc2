from __future__ import annotations

import itertools

import pytest

from playbooks.advisor import QUESTIONS, advise

NAMES = list(QUESTIONS)


def _risky(**overrides: bool) -> dict[str, bool]:
    """Every answer set to its flag-raising value, then overridden."""
    answers = {name: risky for name, (_, risky) in QUESTIONS.items()}
    answers.update(overrides)
    return answers


def test_six_flags_recommend_a_checkpoint() -> None:
    advice = advise(**_risky())
    assert advice.score == 6
    assert advice.recommend_checkpoint
    assert advice.summary == "6 of 6 flags: add a checkpoint."


def test_no_flags_recommend_automation() -> None:
    calm = {name: not risky for name, (_, risky) in QUESTIONS.items()}
    advice = advise(**calm)
    assert advice.flags == ()
    assert not advice.recommend_checkpoint


def test_frequent_decisions_are_not_a_flag() -> None:
    assert "frequency" not in advise(**_risky(frequency=True)).flags
    assert "frequency" in advise(**_risky(frequency=False)).flags


@pytest.mark.parametrize("answers", list(itertools.product([False, True], repeat=6)))
def test_more_than_three_flags_is_the_threshold(answers: tuple[bool, ...]) -> None:
    advice = advise(**dict(zip(NAMES, answers, strict=True)))
    assert advice.recommend_checkpoint is (advice.score > 3)
    assert len(set(advice.flags)) == advice.score
