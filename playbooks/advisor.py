"""The checkpoint advisor (docs/architecture.md): should this automated step pause for a person?

Six yes/no questions, each a flag when the answer points at a human. More than three flags:
put a checkpoint in front of the step. Pure: answers in, advice out; no ORM, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass

# The flag is raised when the answer is the value given here. The wording is what a manager
# reads, so each question is phrased so that "yes" is the risky answer except frequency,
# where a rare decision is the one a person should see (frequent ones are worth automating).
QUESTIONS: dict[str, tuple[str, bool]] = {
    "latency_tolerance": ("Can the workflow wait minutes or hours for an answer?", True),
    "ambiguity": ("Do inputs regularly need judgment that rules cannot capture?", True),
    "impact_radius": ("Does a wrong decision reach customers, money or legal exposure?", True),
    "rework_cost": ("Is a wrong decision expensive or impossible to undo?", True),
    "frequency": ("Does this decision happen many times a day?", False),
    "learning_potential": ("Would reviewers' decisions teach you better thresholds?", True),
}

THRESHOLD = 3  # more than this many flags: recommend a checkpoint


@dataclass(frozen=True)
class Advice:
    flags: tuple[str, ...]
    recommend_checkpoint: bool

    @property
    def score(self) -> int:
        return len(self.flags)

    @property
    def summary(self) -> str:
        verdict = "add a checkpoint" if self.recommend_checkpoint else "automate it"
        return f"{self.score} of {len(QUESTIONS)} flags: {verdict}."


def advise(
    *,
    latency_tolerance: bool,
    ambiguity: bool,
    impact_radius: bool,
    rework_cost: bool,
    frequency: bool,
    learning_potential: bool,
) -> Advice:
    """Flag each answer that argues for a person; recommend a checkpoint above THRESHOLD."""
    answers = {
        "latency_tolerance": latency_tolerance,
        "ambiguity": ambiguity,
        "impact_radius": impact_radius,
        "rework_cost": rework_cost,
        "frequency": frequency,
        "learning_potential": learning_potential,
    }
    flags = tuple(name for name, (_, risky) in QUESTIONS.items() if answers[name] is risky)
    return Advice(flags=flags, recommend_checkpoint=len(flags) > THRESHOLD)
