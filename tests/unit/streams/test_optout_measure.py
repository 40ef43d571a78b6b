"""Recall and false positives of ``streams.optout`` per language, on held-out and dev (issue 8).

The held-out corpus was written and committed before the detection was rebuilt and is never
used to write or tune rules (see its docstring), so its figures are the estimate; the dev
corpus is what the rules were developed on, so its figures are a regression check. The figures
are printed at the end of every run (``conftest.py``); held-out misses are counted, never
listed, so nobody tunes on them by accident.

Counting: a message is *detected* when the outcome suppresses (``OPT_OUT`` or
``POSSIBLE_OPT_OUT``); a false positive is an ordinary message (re-subscribe requests included)
that suppresses.
"""

from collections import Counter
from dataclasses import dataclass
from functools import cache

import pytest

from streams.optout import LANGUAGES, Outcome, detect
from tests.unit.streams.optout_corpus import dev, held_out
from tests.unit.streams.optout_report import REPORT

SUPPRESSING = frozenset({Outcome.OPT_OUT, Outcome.POSSIBLE_OPT_OUT})
Corpus = list[tuple[str, str]]

# issue 8, "Done when": held-out recall >= 95 % overall and >= 90 % per language, <= 3 % FP
HELD_OUT_RECALL, HELD_OUT_LANGUAGE_RECALL, HELD_OUT_FALSE_POSITIVES = 0.95, 0.90, 0.03
# dev is a regression check: the rules were written from it
DEV_RECALL, DEV_FALSE_POSITIVES = 0.98, 0.01


def _suppresses(text: str) -> bool:
    found = detect(text)
    return found is not None and found.outcome in SUPPRESSING


@dataclass(frozen=True)
class Figures:
    """Counts per language for one corpus."""

    opt_out: Counter[str]
    detected: Counter[str]
    possible: Counter[str]
    ordinary: Counter[str]
    false_positives: Counter[str]
    resubscribe: Counter[str]
    resubscribe_suppressed: Counter[str]
    resubscribe_recognised: Counter[str]
    missed: tuple[tuple[str, str], ...]
    flagged: tuple[tuple[str, str, str], ...]

    def recall(self, lang: str | None = None) -> float:
        total = self.opt_out[lang] if lang else self.opt_out.total()
        hits = self.detected[lang] if lang else self.detected.total()
        return hits / total

    def false_positive_rate(self, lang: str | None = None) -> float:
        total = self.ordinary[lang] if lang else self.ordinary.total()
        hits = self.false_positives[lang] if lang else self.false_positives.total()
        return hits / total


def _measure(opt_out: Corpus, ordinary: Corpus, resubscribe: Corpus) -> Figures:
    found = {text: detect(text) for _, text in opt_out + ordinary}
    detected, possible, fps, missed, flagged = Counter(), Counter(), Counter(), [], []
    for lang, text in opt_out:
        d = found[text]
        if d is not None and d.outcome in SUPPRESSING:
            detected[lang] += 1
            possible[lang] += d.outcome is Outcome.POSSIBLE_OPT_OUT
        else:
            missed.append((lang, text))
    for lang, text in ordinary:
        d = found[text]
        if d is not None and d.outcome in SUPPRESSING:
            fps[lang] += 1
            flagged.append((lang, d.rule, text))
    resub = {text for _, text in resubscribe}
    suppressed = Counter(lang for lang, t in resubscribe if _suppresses(t))
    recognised = Counter(lang for lang, t in resubscribe
                         if (d := found[t]) is not None and d.outcome is Outcome.RESUBSCRIBE)
    assert resub <= set(found)
    return Figures(Counter(lang for lang, _ in opt_out), detected, possible,
                   Counter(lang for lang, _ in ordinary), fps,
                   Counter(lang for lang, _ in resubscribe), suppressed, recognised,
                   tuple(missed), tuple(flagged))


@cache
def held_out_figures() -> Figures:
    figures = _measure(held_out.OPT_OUT, held_out.ORDINARY, held_out.RESUBSCRIBE)
    REPORT.extend(_lines("held-out (never tuned on)", figures))
    return figures


@cache
def dev_figures() -> Figures:
    figures = _measure(dev.OPT_OUT, dev.ORDINARY, dev.RESUBSCRIBE)
    REPORT.extend(_lines("dev (rules developed on it)", figures))
    return figures


def _pct(n: int, d: int) -> str:
    return f"{n}/{d} = {100 * n / d:.1f} %" if d else f"{n}/{d}"


def _lines(name: str, f: Figures) -> list[str]:
    lines = [f"{name}: recall {_pct(f.detected.total(), f.opt_out.total())}, false positives "
             f"{_pct(f.false_positives.total(), f.ordinary.total())}, re-subscribe suppressed "
             f"{f.resubscribe_suppressed.total()}/{f.resubscribe.total()}"]
    for lang in sorted(f.opt_out):
        lines.append(
            f"  {lang}: recall {_pct(f.detected[lang], f.opt_out[lang]):<17} (possible "
            f"{f.possible[lang]:>2})  false positives {_pct(f.false_positives[lang], f.ordinary[lang]):<15}"
            f"  re-subscribe recognised {f.resubscribe_recognised[lang]}/{f.resubscribe[lang]}")
    return lines


# --------------------------------------------------------------------------- held-out: the bar


# Was a strict xfail through dev round 5 (394/417, then 395/417 = 94.7 %). After dev round 6,
# measured once with the rules finished and without reading which messages miss: 405/417 =
# 97.1 %.
def test_held_out_recall_overall() -> None:
    f = held_out_figures()
    assert f.recall() >= HELD_OUT_RECALL, _lines("held-out", f)


@pytest.mark.parametrize("lang", sorted(LANGUAGES))
def test_held_out_recall_per_language(lang: str) -> None:
    f = held_out_figures()
    assert f.recall(lang) >= HELD_OUT_LANGUAGE_RECALL, _lines("held-out", f)


def test_held_out_false_positive_rate() -> None:
    f = held_out_figures()
    assert f.false_positive_rate() <= HELD_OUT_FALSE_POSITIVES, _lines("held-out", f)


@pytest.mark.parametrize("corpus", ["held_out", "dev"])
def test_resubscribe_requests_never_suppress(corpus: str) -> None:
    f = held_out_figures() if corpus == "held_out" else dev_figures()
    assert f.resubscribe.total() >= 20
    assert f.resubscribe_suppressed.total() == 0, _lines(corpus, f)


# --------------------------------------------------------------------------- dev: regression


def test_dev_regression() -> None:
    f = dev_figures()
    detail = [*_lines("dev", f), *(f"  miss ({lang}): {text!r}" for lang, text in f.missed),
              *(f"  false positive ({lang}, {rule}): {text!r}" for lang, rule, text in f.flagged)]
    assert f.recall() >= DEV_RECALL, "\n".join(detail)
    assert f.false_positive_rate() <= DEV_FALSE_POSITIVES, "\n".join(detail)


# --------------------------------------------------------------------------- corpus shape


def _key(text: str) -> str:
    return " ".join(text.casefold().split())


def test_corpora_are_disjoint_and_cover_every_language() -> None:
    held = [t for _, t in held_out.OPT_OUT + held_out.ORDINARY]
    devs = [t for _, t in dev.OPT_OUT + dev.ORDINARY]
    assert not {_key(t) for t in held} & {_key(t) for t in devs}
    assert len(held) == len(set(held))
    assert not {t for _, t in held_out.OPT_OUT} & {t for _, t in held_out.ORDINARY}
    assert {t for _, t in held_out.RESUBSCRIBE} <= {t for _, t in held_out.ORDINARY}
    per_lang_opt = Counter(lang for lang, _ in held_out.OPT_OUT)
    per_lang_ord = Counter(lang for lang, _ in held_out.ORDINARY)
    per_lang_resub = Counter(lang for lang, _ in held_out.RESUBSCRIBE)
    assert set(per_lang_opt) == set(per_lang_ord) == set(per_lang_resub) == set(LANGUAGES)
    assert min(per_lang_opt.values()) >= 80 and min(per_lang_ord.values()) >= 70
    assert min(per_lang_resub.values()) >= 5
