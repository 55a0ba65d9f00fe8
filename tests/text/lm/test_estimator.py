"""TextGenerator (the Python API) against `rnnkit text ...` (the CLI over it): same settings, same seed, same result;
every generation setting reaches the sampler; bad input gets one line and exit 2."""

from __future__ import annotations

import dataclasses
import inspect
import json
from pathlib import Path
from typing import Any

import pytest
import torch

import rnnkit.text.lm.generation as gen_module
from rnnkit.cli import main
from rnnkit.text import TextGenerator
from rnnkit.text.lm.cli import TextGenerateConfig
from rnnkit.text.lm.generation import Sampling

TEXT = "ROMEO:\nBut soft, what light through yonder window breaks?\nIt is the east, and Juliet is the sun.\n" * 6
SIZES = {"embed_size": 8, "hidden_size": 16, "num_layers": 1, "bptt": 16, "batch_size": 4}
STEPS = {"max_steps": 8, "val_every": 4, "seed": 3}


def _flags(settings: dict[str, Any]) -> list[str]:
    return [a for k, v in settings.items() for a in (f"--{k}", str(v))]


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("lm")
    (root / "tiny.txt").write_text(TEXT, encoding="utf-8")
    args = ["text", "train", "--data", str(root / "tiny.txt"), "--out", str(root / "run"), "--quiet", "true"]
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as the tests that compare with it (conftest); float sums depend on it
    try:
        assert main([*args, *_flags({**SIZES, **STEPS})]) == 0
    finally:
        torch.set_num_threads(threads)
    return root / "run"


def test_python_api_equals_cli(run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lm = TextGenerator(**SIZES, **STEPS, quiet=True).fit(TEXT)
    cli = TextGenerator.load(run)
    assert lm.fitted.state_dict().keys() == cli.fitted.state_dict().keys()
    for name, value in lm.fitted.state_dict().items():
        torch.testing.assert_close(value, cli.fitted.state_dict()[name], rtol=0, atol=0, msg=name)
    metrics = json.loads((run / "metrics.json").read_text())
    assert lm.metrics["val_loss"] == pytest.approx(metrics["val_loss"], abs=0)
    capsys.readouterr()
    assert (
        main(["text", "generate", "--model", str(run), "--prompt", "ROMEO:", "--max_new_tokens", "40", "--seed", "5"])
        == 0
    )
    assert capsys.readouterr().out == "ROMEO:" + lm.generate("ROMEO:", 40, seed=5) + "\n"


def test_one_set_of_generation_defaults() -> None:
    """Issue 14: generate() sampled at temperature 1.0 where the CLI used 0.8."""
    cli = {f.name: f.default for f in dataclasses.fields(TextGenerateConfig) if f.name not in ("model", "prompt")}
    for fn in (TextGenerator.generate, gen_module.generate):
        params = inspect.signature(fn).parameters
        shared = {k: params[k].default for k in cli if k in params}
        assert shared == {k: cli[k] for k in shared} and "temperature" in shared and "top_p" in shared
    assert cli["temperature"] == 0.8


def test_fit_reads_a_path_and_save_load_round_trips(tmp_path: Path, run: Path) -> None:
    lm = TextGenerator.load(run / "model")
    saved = lm.save(tmp_path / "m")
    again = TextGenerator.load(saved)
    assert again.generate(["But", "It"], 12, seed=1) == lm.generate(["But", "It"], 12, seed=1)
    assert again.perplexity(TEXT) == pytest.approx(lm.evaluate(TEXT)["perplexity"])


def _record_sampling(monkeypatch: pytest.MonkeyPatch) -> list[Sampling]:
    seen: list[Sampling] = []
    real = gen_module.sample_next

    def spy(logits: torch.Tensor, sampling: Sampling, *args: Any) -> torch.Tensor:
        seen.append(sampling)
        return real(logits, sampling, *args)

    monkeypatch.setattr(gen_module, "sample_next", spy)
    return seen


@pytest.mark.parametrize("samples", ["1", "2"])  # streamed (one sample) and batched (several): two code paths
def test_every_sampling_flag_reaches_the_sampler(
    run: Path, samples: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 22: --top_p could be dropped on its way; each hop CLI -> TextGenerator -> generate -> sampler."""
    seen = _record_sampling(monkeypatch)
    flags = ["--temperature", "0.7", "--top_k", "9", "--top_p", "0.55", "--repetition_penalty", "1.3"]
    args = ["text", "generate", "--model", str(run), "--prompt", "It", "--max_new_tokens", "5", "--seed", "0"]
    assert main([*args, *flags, "--num_samples", samples]) == 0
    assert seen and all(s == Sampling(0.7, 9, 0.55, 1.3) for s in seen)
    seen.clear()
    TextGenerator.load(run).generate("It", 5, top_p=0.55, repetition_penalty=1.3, num_samples=int(samples))
    assert seen and all((s.top_p, s.repetition_penalty) == (0.55, 1.3) for s in seen)


def test_top_p_and_repetition_penalty_change_the_text(run: Path) -> None:
    lm = TextGenerator.load(run)
    base = lm.generate("It", 60, seed=0, temperature=1.5)
    assert lm.generate("It", 60, seed=0, temperature=1.5, top_p=0.3) != base
    assert lm.generate("It", 60, seed=0, temperature=1.5, repetition_penalty=3.0) != base


def test_eval_without_out_writes_beside_the_run(run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "held.txt"
    data.write_text(TEXT, encoding="utf-8")
    assert main(["text", "eval", "--model", str(run / "model"), "--data", str(data)]) == 0
    written = run / "eval" / "held" / "metrics.json"
    assert json.loads(written.read_text())["perplexity"] > 1
    assert capsys.readouterr().out.rstrip().endswith(f"-> {written}")


def _error(args: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    assert main(args) == 2
    out, err = capsys.readouterr()
    assert err.count("\n") == 1 and out == "", (out, err)  # one line, and nothing printed before it
    return err


def test_unknown_prompt_characters_are_an_error(run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    err = _error(["text", "generate", "--model", str(run), "--prompt", "Zoë"], capsys)
    assert err == (
        "rnnkit text generate: error: the prompt has characters the model never saw in training: "
        f"'Z' (U+005A), 'ë' (U+00EB); remove or replace them (the model knows "
        f"{TextGenerator.load(run).fitted.args['vocab_size'] - 1} characters)\n"
    )
    with pytest.raises(ValueError, match="never saw in training: 'Z'"):
        TextGenerator.load(run).generate("Zoo")


def test_sampling_flags_with_beam_search_are_an_error(run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["text", "generate", "--model", str(run), "--prompt", "It", "--beam_width", "3"]
    assert _error([*args, "--top_p", "0.9", "--temperature", "1.2"], capsys) == (
        "rnnkit text generate: error: --beam_width 3 searches for the most likely continuation and ignores "
        "--temperature, --top_p; drop them, or sample with --beam_width 1\n"
    )
    with pytest.raises(ValueError, match="ignores --seed; drop it"):
        TextGenerator.load(run).generate("It", beam_width=2, seed=1)


def test_bad_python_input_says_what_was_expected(run: Path) -> None:
    lm = TextGenerator.load(run)
    with pytest.raises(TypeError) as err:
        lm.generate(["It", 3])  # type: ignore[list-item]
    assert str(err.value) == "expected the prompt(s) as a list of str; item 1 is a int: 3"
    with pytest.raises(TypeError) as err:
        TextGenerator(hidden=3)
    assert str(err.value) == "TextGenerator: unknown setting(s) hidden; expected fields of LMSettings"
    with pytest.raises(ValueError) as err:
        TextGenerator().generate("It")
    assert str(err.value) == "this TextGenerator is not trained yet; call .fit(text) or TextGenerator.load(dir)"
    with pytest.raises(ValueError) as err:
        TextGenerator(val_fraction=1.5)
    assert str(err.value) == "expected --val_fraction in (0, 1), got 1.5"
