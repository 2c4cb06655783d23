"""C11 on both adding-problem variants: the evidence, the reproduction commands, the words and the figure."""

from __future__ import annotations

import re

import pytest

from rnngrad.claims import ClaimsConfig
from rnngrad.claims.adding_problem import adding_train_configs, train_command
from rnngrad.report import text_en, text_ko
from rnngrad.report.figure_text import figure_words
from rnngrad.report.figures_training import gradient_profiles, training_curves

HANGUL = re.compile(r"[\uac00-\ud7a3]")


def hs97_baseline(T: int) -> float:
    """Oracle: Var(0.5 + (X₁ + X₂)/4), X ~ U[−1, 1], X₁ = 0 when it sits on the first of its m pairs."""
    m = min(10, T // 2 - 1)
    return ((1 - 1 / m) / 3 + 1 / 3) / 16


def test_c11_measures_both_variants_with_one_budget(claims_by_id):
    evidence = claims_by_id["C11"].evidence
    assert evidence["variants"] == ["adding-sum", "adding"]
    runs = evidence["runs"]
    config = ClaimsConfig.quick()
    assert len(runs) == 2 * len(config.train_T) * len(config.train_models)
    for task in evidence["variants"]:
        mine = [run for run in runs if run["task"] == task]
        assert {(run["model"], run["T"]) for run in mine} == {(m, T) for m in config.train_models for T in config.train_T}
        assert all(run["steps"] <= evidence["steps_budget"] == config.train_steps for run in mine)
        assert all(run["learned"] == (run["status"] == "solved") for run in mine)
        assert all(run["learned_at"] == (run["steps"] if run["learned"] else None) for run in mine)
        assert evidence["commands"][task].startswith(f"rnngrad train --task {task} --model M --T T ")
    for T in config.train_T:  # each variant's own baseline, HS97's with X₁ zeroed one time in m
        assert evidence["baseline_mse"]["adding-sum"][str(T)] == pytest.approx(1 / 6, abs=1e-4)
        assert evidence["baseline_mse"]["adding"][str(T)] == pytest.approx(hs97_baseline(T), abs=1e-4)
    assert "Le/Arjovsky placement (adding-sum" in evidence["headline"] and "HS97 placement (adding" in evidence["headline"]


def test_each_run_carries_its_own_command(claims_by_id):
    runs = claims_by_id["C11"].evidence["runs"]
    configs = adding_train_configs(ClaimsConfig.quick())
    assert [run["command"] for run in runs] == [train_command(config) for config in configs]
    assert all(f"--task {run['task']} --model {run['model']} --T {run['T']} " in run["command"] for run in runs)


@pytest.mark.parametrize("text", [text_en.TEXT, text_ko.TEXT], ids=["en", "ko"])
def test_the_report_text_gives_the_default_commands_and_budget(text):
    """The paragraph before C11 names the exact default configuration: a drift in ClaimsConfig fails here."""
    config = ClaimsConfig()
    intro = text["practice_intro"]
    first, *others = config.train_tasks
    template = train_command(adding_train_configs(config)[0], placeholders=True).replace("--seed 0", "--seed S")
    assert f"--task {first} " in template and template in intro  # the whole line, M, T and S as placeholders
    assert all(f"--task {task}" in intro.replace(template, "") for task in others)  # "the same with --task …"
    sequences = config.train_steps * config.train_batch
    assert f"{sequences:,}" in intro and "74,000" in intro
    assert f"{round(100 * config.train_steps / 74_000)}%" in intro and f"{sequences / 74_000:.2g}" in intro
    assert "0.0396" in intro and "0.167" in intro


def test_no_report_text_keeps_the_old_hs97_baseline():
    for text in (text_en.TEXT, text_ko.TEXT):
        words = [text["practice_intro"], text["captions"]["training_curves"], text["captions"]["gradient_profiles"]]
        assert not any("1/24" in item or "0.042" in item for item in words)


def test_the_korean_headline_names_both_variants(claims_by_id):
    line = text_ko.headline(claims_by_id["C11"].to_json())
    assert "Le/Arjovsky 배치 (adding-sum" in line and "HS97 배치 (adding" in line and HANGUL.search(line)


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_the_training_figure_has_a_row_per_variant_with_its_own_baseline(claims_by_id, lang):
    series = claims_by_id["C11"].series
    figure = training_curves(series, figure_words(lang))
    axes = figure.axes
    assert len(axes) == len(series["variants"]) * len(series["T"])
    titles = [axis.get_title() for axis in axes]
    assert sum("Le/Arjovsky" in title for title in titles) == sum("HS97" in title for title in titles) == len(series["T"])
    legends = [text.get_text() for axis in axes if axis.get_legend() for text in axis.get_legend().get_texts()]
    baseline_word = "기준선" if lang == "ko" else "baseline"
    assert any(f"{baseline_word} 0.167" in text for text in legends)
    assert any(f"{baseline_word} {hs97_baseline(series['T'][-1]):.3g}" in text for text in legends)
    assert bool(HANGUL.search(" ".join(titles + legends))) == (lang == "ko")
    profiles = gradient_profiles(series, figure_words(lang))
    assert len(profiles.axes) == len(axes)
