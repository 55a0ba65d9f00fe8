"""Translation quality: corpus BLEU and chrF from sacrebleu, with every reference of each sentence."""

from __future__ import annotations

from typing import Any


def score(hypotheses: list[str], references: list[str] | list[list[str]]) -> dict[str, Any]:
    """Corpus BLEU and chrF with sacrebleu's defaults, with their signatures (to report alongside the numbers).

    ``references[i]`` is hypothesis i's reference, or the list of all its references (any number, at least one).

    >>> score(["Cours vite , Tom !"], [["Courez vite , Tom !", "Cours vite , Tom !"]])["bleu"]
    100.0
    """
    from sacrebleu.metrics import BLEU, CHRF

    if not hypotheses:
        raise ValueError("no sentences to score: expected at least one translation with its references")
    refs = [[r] if isinstance(r, str) else list(r) for r in references]
    if len(refs) != len(hypotheses) or any(not r for r in refs):
        raise ValueError(f"expected one or more references for each of {len(hypotheses)} hypotheses")
    width = max((len(r) for r in refs), default=1)
    streams = [[r[k] if k < len(r) else None for r in refs] for k in range(width)]  # sacrebleu: None = no more
    bleu, chrf = BLEU(), CHRF()
    b = bleu.corpus_score(hypotheses, streams)  # type: ignore[arg-type]
    c = chrf.corpus_score(hypotheses, streams)  # type: ignore[arg-type]
    return {
        "bleu": round(b.score, 2),
        "chrf": round(c.score, 2),
        "bleu_signature": str(bleu.get_signature()),
        "chrf_signature": str(chrf.get_signature()),
        "sentences": len(hypotheses),
    }
