"""Taste (issue 12): simulated people with hidden tastes answer pick-the-best-of-4 questions.

The candidate pool is 2,000 pictures of the shipped ``mnist-dcgan`` (500 more are held out), made
and measured as the taste loop makes them (:class:`atelier.taste.subjects.ImageSubject`): each has
its coordinates along the generator's 4 principal latent directions (GANSpace,
:mod:`atelier.taste.latents`) and the picture numbers of :mod:`atelier.analysis.images` (those that
vary over grey digits). A simulated person has a hidden utility over the standardised features:

(a) one preferred region: −‖x_S − c‖² over a random subset S of 3 features, c a pool item's;
(b) two separate regions: the max of two such bowls on the same S, their centres ≥ 2 σ apart;
(c) one picture number: +x_j or −x_j for a random picture number j.

Utility is normalised per person so the mean pool item scores 0 and the best pool item 1. A person
picks one of the k = 4 works shown with Plackett–Luce probabilities ∝ exp(u / T), T = 0.1.

Strategies, each answering the same people (seeded):

* **model**: :func:`atelier.taste.preference.next_question` asks, :func:`recommend` answers;
* **random questions + model**: 4 random works per question, the same model recommends;
* **random galleries**: 4 random works, the recommendation is the best work picked so far (by the
  person's true utility: generous to this baseline);
* **interactive evolution**: the last pick and 3 mutations of its latent (z' = √(1−a²)·z + a·ε, which
  keeps z ~ N(0, I)), the recommendation is the last pick.

``python benchmarks/bench_taste.py`` prints the section; ``benchmarks/run.py --only taste`` writes it.
"""

from __future__ import annotations

import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from scipy.stats import kendalltau

from atelier import zoo
from atelier.checkpoint import load_checkpoint
from atelier.family import get_family
from atelier.nn import seeded_normal
from atelier.taste.preference import Choice, PreferenceModel, next_question, recommend
from atelier.taste.subjects import ImageSubject, picture_numbers

MODEL = "mnist-dcgan"
POOL, HELD_OUT = 2000, 500
K = 4  # works per question
ANSWERS = 20
GOAL_AT = 12  # answers by which a person should reach GOAL_UTILITY
GOAL_UTILITY = 0.9
TEMPERATURE = 0.1  # Plackett–Luce noise, in units of normalised utility
SUBSET = 3  # features a region taste depends on
MUTATION = 0.5  # interactive evolution: a in z' = √(1−a²)·z + a·ε
PLOT = Path(__file__).resolve().parents[1] / "docs" / "images" / "taste-curves.png"  # shown in docs/taste.md
TASTES = ("one region", "two regions", "one picture number")
STRATEGIES = ("model", "random questions + model", "random galleries", "interactive evolution")


# ---------------------------------------------------------------------------------------------
# The pool: pictures of a real generator, and their features


@dataclass(frozen=True, eq=False)
class Pool:
    names: list[str]
    features: np.ndarray  # (POOL, d) raw
    held_out: np.ndarray  # (HELD_OUT, d) raw
    latents: np.ndarray  # (POOL, z_dim)
    varying: list[int]  # columns that vary over the pool (a grey model's colour numbers do not)
    picture: list[int]  # varying columns that are picture numbers
    measure: object  # latents (n, z_dim) → raw features (n, d)


def build_pool() -> Pool:
    """The taste loop's own candidates (:class:`atelier.taste.subjects.ImageSubject`): seeds of the
    GAN, each with its GANSpace coordinates and picture numbers."""
    checkpoint = load_checkpoint(zoo.locate(MODEL))
    gan = get_family(checkpoint.kind).load(checkpoint)
    subject = ImageSubject(gan, MODEL)
    items = subject.pool(POOL + HELD_OUT, seed=12)
    features = subject.matrix(items)
    z = np.concatenate([seeded_normal(1, gan.config.z_dim, seed=int(item.recipe["seed"])).double().numpy()
                        for item in items])

    @torch.no_grad()
    def measure(latents: np.ndarray) -> np.ndarray:
        images = gan.decode(torch.as_tensor(latents, dtype=torch.float32))
        return np.concatenate([subject.directions().coordinates(latents), picture_numbers(images)], axis=1)

    names = list(subject.feature_names)
    varying = [j for j in range(len(names)) if features[:POOL, j].std() > 1e-9]
    picture = [j for j in varying if not names[j].startswith("direction_")]
    return Pool(names, features[:POOL], features[POOL:], z[:POOL], varying, picture, measure)


# ---------------------------------------------------------------------------------------------
# Simulated people


@dataclass(frozen=True, eq=False)
class Person:
    """A hidden taste over standardised features; ``utility`` is normalised on the pool."""

    kind: str
    centre: np.ndarray  # pool mean, to standardise
    scale: np.ndarray
    offset: float
    spread: float
    params: dict
    rng: np.random.Generator

    def raw(self, X: np.ndarray) -> np.ndarray:
        x = (X - self.centre) / self.scale
        p = self.params
        if self.kind == "one picture number":
            return p["sign"] * x[:, p["feature"]]
        bowls = [-((x[:, p["subset"]] - c) ** 2).sum(axis=1) for c in p["centres"]]
        return np.max(bowls, axis=0)

    def utility(self, X: np.ndarray) -> np.ndarray:
        return (self.raw(X) - self.offset) / self.spread

    def pick(self, X: np.ndarray, shown: list[int]) -> int:
        """Plackett–Luce's first choice: P(i) ∝ exp(u_i / T)."""
        u = self.utility(X[shown]) / TEMPERATURE
        p = np.exp(u - u.max())
        return shown[int(self.rng.choice(len(shown), p=p / p.sum()))]


def make_person(kind: str, pool: Pool, seed: int) -> Person:
    rng = np.random.default_rng([seed, TASTES.index(kind)])
    centre, scale = pool.features.mean(axis=0), pool.features.std(axis=0)
    scale = np.where(scale > 1e-9, scale, 1.0)
    x = (pool.features - centre) / scale
    if kind == "one picture number":
        params = {"feature": int(rng.choice(pool.picture)), "sign": float(rng.choice([-1.0, 1.0]))}
    else:
        subset = np.sort(rng.choice(pool.varying, SUBSET, replace=False))
        first = x[rng.integers(POOL), subset]
        centres = [first]
        if kind == "two regions":
            far = np.flatnonzero(((x[:, subset] - first) ** 2).sum(axis=1) >= 4.0)  # ≥ 2 σ away
            centres.append(x[rng.choice(far), subset])
        params = {"subset": subset, "centres": centres}
    person = Person(kind, centre, scale, 0.0, 1.0, params, rng)
    raw = person.raw(pool.features)
    return Person(kind, centre, scale, float(raw.mean()), float(raw.max() - raw.mean()), params, rng)


def agreement(person: Person, pool: Pool, pairs: int = 2000) -> float:
    """How often the person picks the work they truly prefer, of two random pool works."""
    rng = np.random.default_rng(0)
    u = person.utility(pool.features)
    a, b = rng.integers(POOL, size=pairs), rng.integers(POOL, size=pairs)
    keep = a != b
    gap = np.abs(u[a] - u[b])[keep] / TEMPERATURE
    return float(np.mean(1 / (1 + np.exp(-gap))))


# ---------------------------------------------------------------------------------------------
# Strategies: each returns the normalised utility of its recommendation after t = 0..ANSWERS answers


def run_model(person: Person, pool: Pool, *, random_questions: bool, seed: int) -> tuple[list[float], float]:
    rng = np.random.default_rng([seed, 99])
    X, u = pool.features, person.utility(pool.features)
    choices: list[Choice] = []
    model = None
    curve = [float(u[recommend(None, X, 1)[0]])]
    for _ in range(ANSWERS):
        shown = (list(rng.choice(POOL, K, replace=False)) if random_questions
                 else next_question(model, X, k=K, rng=rng))
        choices.append(Choice(tuple(int(i) for i in shown), person.pick(X, [int(i) for i in shown])))
        model = PreferenceModel.fit(X, choices, reference=X)
        curve.append(float(u[recommend(model, X, 1)[0]]))
    tau = kendalltau(model.score(pool.held_out), person.utility(pool.held_out)).statistic
    return curve, float(tau)


def run_random_galleries(person: Person, pool: Pool, *, seed: int) -> list[float]:
    rng = np.random.default_rng([seed, 98])
    u = person.utility(pool.features)
    best = u[recommend(None, pool.features, 1)[0]]
    curve, picked = [float(best)], []
    for _ in range(ANSWERS):
        shown = [int(i) for i in rng.choice(POOL, K, replace=False)]
        picked.append(person.pick(pool.features, shown))
        curve.append(float(max(u[i] for i in picked)))
    return curve


def run_evolution(person: Person, pool: Pool, *, seed: int, mutation: float = MUTATION) -> list[float]:
    rng = np.random.default_rng([seed, 97])
    u = person.utility(pool.features)
    curve = [float(u[recommend(None, pool.features, 1)[0]])]
    shown_z = pool.latents[rng.choice(POOL, K, replace=False)]  # the first gallery: random works
    shown_x = pool.measure(shown_z)
    for _ in range(ANSWERS):
        i = person.pick(shown_x, list(range(K)))
        parent_z, parent_x = shown_z[i], shown_x[i]
        curve.append(float(person.utility(parent_x[None])[0]))
        eps = rng.standard_normal((K - 1, len(parent_z)))
        children = np.sqrt(1 - mutation ** 2) * parent_z + mutation * eps
        shown_z = np.concatenate([parent_z[None], children])
        shown_x = np.concatenate([parent_x[None], pool.measure(children)])
    return curve


# ---------------------------------------------------------------------------------------------
# The section


def _timings(pool: Pool) -> tuple[float, float]:
    """Median seconds of a fit on 20 answers and of a next_question, on the 2,000-work pool."""
    person = make_person("one region", pool, 0)
    rng = np.random.default_rng(0)
    choices = []
    for _ in range(ANSWERS):
        shown = [int(i) for i in rng.choice(POOL, K, replace=False)]
        choices.append(Choice(tuple(shown), person.pick(pool.features, shown)))
    fits, questions = [], []
    for _ in range(5):
        start = time.perf_counter()
        model = PreferenceModel.fit(pool.features, choices, reference=pool.features)
        fits.append(time.perf_counter() - start)
        start = time.perf_counter()
        next_question(model, pool.features, k=K, rng=rng)
        questions.append(time.perf_counter() - start)
    return statistics.median(fits), statistics.median(questions)


def _plot(curves: dict[str, dict[str, np.ndarray]]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(TASTES), figsize=(5 * len(TASTES), 4), sharey=True)
    t = np.arange(ANSWERS + 1)
    for ax, taste in zip(axes, TASTES):
        for strategy in STRATEGIES:
            c = curves[taste][strategy]
            mean = c.mean(axis=0)
            ax.plot(t, mean, label=strategy)
            lo, hi = np.percentile(c, [25, 75], axis=0)
            ax.fill_between(t, lo, hi, alpha=0.15)
        ax.axhline(GOAL_UTILITY, color="grey", lw=0.8, ls="--")
        ax.axvline(GOAL_AT, color="grey", lw=0.8, ls=":")
        ax.set_title(f"taste: {taste}")
        ax.set_xlabel("answers (pick the best of 4)")
        ax.set_xticks(range(0, ANSWERS + 1, 4))
    axes[0].set_ylabel("normalised utility of the recommendation\n(mean; band: 25–75%)")
    axes[0].set_ylim(-0.5, 1.05)
    axes[-1].legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(PLOT, dpi=110)
    plt.close(fig)


def run(quick: bool) -> str:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _run(quick)
    finally:
        torch.set_num_threads(threads)


def _run(quick: bool) -> str:
    people = 10 if quick else 50
    pool = build_pool()
    fit_s, question_s = _timings(pool)
    curves: dict[str, dict[str, np.ndarray]] = {}
    taus: dict[tuple[str, str], list[float]] = {(t, s): [] for t in TASTES for s in STRATEGIES[:2]}
    agree: dict[str, float] = {}
    for taste in TASTES:
        runs: dict[str, list[list[float]]] = {s: [] for s in STRATEGIES}
        agree[taste] = float(np.mean([agreement(make_person(taste, pool, s), pool) for s in range(people)]))
        for seed in range(people):
            for strategy, random_questions in (("model", False), ("random questions + model", True)):
                curve, tau = run_model(make_person(taste, pool, seed), pool, random_questions=random_questions, seed=seed)
                runs[strategy].append(curve)
                taus[(taste, strategy)].append(tau)
            runs["random galleries"].append(run_random_galleries(make_person(taste, pool, seed), pool, seed=seed))
            runs["interactive evolution"].append(run_evolution(make_person(taste, pool, seed), pool, seed=seed))
        curves[taste] = {s: np.array(r) for s, r in runs.items()}
    _plot(curves)

    lines = ["## Taste", "",
             f"Simulated people choose the best of {K} works of `{MODEL}` (a pool of {POOL}, features: "
             f"{', '.join(pool.names[j] for j in pool.varying)}). {people} people per taste, "
             f"seeded; Plackett–Luce noise T = {TEMPERATURE} (normalised utility). Goal: ≥ 90% of people reach "
             f"{GOAL_UTILITY} within {GOAL_AT} answers; Kendall τ ≥ 0.8 on {HELD_OUT} held-out works after "
             f"{ANSWERS} answers.", "",
             "| taste | agrees with own utility on random pairs | strategy | utility after 0 / 4 / 8 / 12 / 20 answers "
             f"(mean) | people ≥ {GOAL_UTILITY} at answer {GOAL_AT} | … at any answer ≤ {GOAL_AT} | "
             f"Kendall τ after {ANSWERS} (median, 10th pct) |",
             "|---|---|---|---|---|---|---|"]
    for taste in TASTES:
        for strategy in STRATEGIES:
            c = curves[taste][strategy]
            means = " / ".join(f"{c[:, t].mean():.2f}" for t in (0, 4, 8, 12, 20))
            at = (c[:, GOAL_AT] >= GOAL_UTILITY).mean()
            within = (c[:, 1:GOAL_AT + 1].max(axis=1) >= GOAL_UTILITY).mean()
            t = taus.get((taste, strategy))
            tau = f"{np.median(t):.2f} ({np.percentile(t, 10):.2f})" if t else "—"
            lines.append(f"| {taste} | {agree[taste]:.0%} | {strategy} | {means} | {at:.0%} | {within:.0%} | {tau} |")
    lines += ["", f"A fit on {ANSWERS} answers: {fit_s * 1000:.0f} ms; a next_question over the {POOL} works: "
              f"{question_s * 1000:.0f} ms (median of 5, one thread).", "", f"Curves: `docs/images/{PLOT.name}`."]
    return "\n".join(lines)


if __name__ == "__main__":
    print(run(quick="--quick" in sys.argv))
