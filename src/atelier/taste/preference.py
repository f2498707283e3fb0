"""A person's taste learned from their answers: Gaussian-process preference learning over features.

The person answers two kinds of question about works, each work described by a feature vector
(principal latent directions, picture or melody numbers; :mod:`atelier.taste.subjects`):

* a :class:`Choice`: the best of 2–4 works shown;
* a :class:`Rating`: 1–5 stars for one work.

The model (Chu & Ghahramani 2005, "Preference learning with Gaussian processes"): a latent liking
f over the standardised features x with a Gaussian-process prior,

  k(x, y) = a² exp(−½ Σ_j (x_j − y_j)² / ℓ_j²) + b² Σ_j x_j y_j / ℓ_j²,

a smooth bump kernel (a person may like one region of the works, or several) plus a linear part
(more of a feature is better), both sharing one length ℓ_j per feature: automatic relevance
determination (MacKay 1994; Neal 1996), so a feature the answers do not depend on gets a long
length and drops out. The likelihoods:

* a choice is Plackett–Luce's first pick (Luce 1959): P(pick i | shown S) = exp f_i / Σ_{j∈S} exp f_j;
  for two works this is Bradley–Terry, and it uses the whole choice, not its pairs;
* a rating is an ordered logit on the same f (McCullagh 1980; Chu & Ghahramani 2005b use it with
  GPs): P(s stars) = σ(θ_s − f) − σ(θ_{s−1} − f) with fixed cut points θ. It keeps the
  log-likelihood concave, so choices and ratings are fitted together; turning ratings into
  pairs instead would count each rating once per other rated work.

The posterior of f at the works answered about is Gaussian by Laplace's approximation (Rasmussen &
Williams 2006, §3.4; Newton's method, concave), and the hyperparameters (a, b, ℓ) maximise its
evidence times a log-normal prior (type-II MAP). :meth:`PreferenceModel.score` is the posterior
mean liking, :meth:`~PreferenceModel.draw` a joint posterior sample (Thompson sampling), and
:func:`next_question` shows the best work of each of k such samples.

Example, a person who likes feature 0 and dislikes feature 1:
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 3))
    >>> choices = []
    >>> for _ in range(30):
    ...     shown = tuple(int(i) for i in rng.choice(200, 3, replace=False))
    ...     choices.append(Choice(shown, max(shown, key=lambda i: 2 * X[i, 0] - X[i, 1])))
    >>> model = PreferenceModel.fit(X, choices)
    >>> [(name, effect > 0) for name, effect in model.explain(["a", "b", "c"])][:2]
    [('a', True), ('b', False)]
    >>> bool(X[recommend(model, X, 1)[0], 0] > 1.5)
    True
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import minimize
from scipy.special import expit, log_expit, logsumexp

from atelier.errors import AtelierError

MAX_STARS = 5
CUTS = np.array([-3.0, -1.0, 1.0, 3.0])  # ordered-logit cut points θ₁…θ₄ between 1|2|3|4|5 stars, in units of f
EXPLAIN_ROWS = 500  # reference works kept to explain a taste
DRAW_POOL = 300  # Thompson sampling draws jointly over the candidates most likely to be best


@dataclass(frozen=True)
class Choice:
    """The person picked ``picked`` as the best of ``shown`` (row indices of a feature matrix)."""

    shown: tuple[int, ...]
    picked: int


@dataclass(frozen=True)
class Rating:
    """The person gave ``item`` (a row index of a feature matrix) ``stars`` out of 5."""

    item: int
    stars: int


@dataclass(frozen=True)
class PreferenceConfig:
    """The hyperprior: the median of each kernel hyperparameter (log-normal around it) and how far
    the evidence may move it. Units: f in log-odds of a pick, lengths in standard deviations."""

    bump: float = 3.0  # a: the bump part's σ; liking varies by a few log-odds across the works
    linear: float = 0.5  # b: the linear part's σ per feature (at ℓ = 1)
    quadratic: float = 0.3  # c: the quadratic part's σ (a bowl: liking falls off far from a centre)
    length: float = 2.0  # ℓ_j: a preferred region is about this wide
    spread: float = 1.0  # σ of each log-hyperparameter's prior: a factor e either way is plausible
    fit_hyperparameters: bool = True  # False: keep the medians (fast, for tests and tiny data)
    max_iterations: int = 25  # of L-BFGS on the evidence

    def __post_init__(self) -> None:
        for name in ("bump", "linear", "quadratic", "length", "spread"):
            if not getattr(self, name) > 0:
                raise AtelierError(f"{name}={getattr(self, name)}; must be greater than 0")


# ---------------------------------------------------------------------------------------------
# The kernel


def _kernel(A: np.ndarray, B: np.ndarray, hyper: np.ndarray) -> np.ndarray:
    """k(A, B) (n, m) for standardised rows A (n, d), B (m, d); hyper = log [a, b, c, ℓ_1..ℓ_d]."""
    bump, linear, quadratic, length = np.exp(hyper[0]), np.exp(hyper[1]), np.exp(hyper[2]), np.exp(hyper[3:])
    a, b = A / length, B / length
    dot = a @ b.T
    sq = (a ** 2).sum(axis=1)[:, None] + (b ** 2).sum(axis=1)[None, :] - 2 * dot
    return bump ** 2 * np.exp(-0.5 * np.maximum(sq, 0.0)) + linear ** 2 * dot + quadratic ** 2 * dot ** 2


def _kernel_diagonal(A: np.ndarray, hyper: np.ndarray) -> np.ndarray:
    bump, linear, quadratic, length = np.exp(hyper[0]), np.exp(hyper[1]), np.exp(hyper[2]), np.exp(hyper[3:])
    norm = ((A / length) ** 2).sum(axis=1)
    return bump ** 2 + linear ** 2 * norm + quadratic ** 2 * norm ** 2


def _kernel_gradient(X: np.ndarray, B: np.ndarray, weights: np.ndarray, hyper: np.ndarray) -> np.ndarray:
    """∂/∂x Σ_i weights_i k(x, B_i) at each row x of X: (n, d)."""
    bump, linear, quadratic, length = np.exp(hyper[0]), np.exp(hyper[1]), np.exp(hyper[2]), np.exp(hyper[3:])
    K = bump ** 2 * np.exp(-0.5 * (((X[:, None, :] - B[None]) / length) ** 2).sum(axis=2))  # (n, m)
    kw = K * weights  # (n, m)
    bump_part = -(kw.sum(axis=1)[:, None] * X - kw @ B) / length ** 2
    dot = (X / length ** 2) @ B.T  # (n, m) xᵀΛs
    quadratic_part = 2 * quadratic ** 2 * ((dot * weights) @ B) / length ** 2
    return bump_part + linear ** 2 * (weights @ B) / length ** 2 + quadratic_part


@dataclass(frozen=True, eq=False)
class PreferenceModel:
    """A fitted taste: the standardisation, the works answered about (``support``) and the Laplace
    posterior there, which give the liking of any work: mean k(x, S)·v, covariance
    k(x, x′) − k(x, S) M k(S, x′)."""

    centre: np.ndarray  # (d,) subtracted from raw features
    scale: np.ndarray  # (d,) then divided by
    hyper: np.ndarray  # (d + 3,) log [a, b, c, ℓ_1..ℓ_d]
    support: np.ndarray  # (m, d) standardised features of the works answered about
    v: np.ndarray  # (m,) K⁻¹ f̂
    M: np.ndarray  # (m, m) (I + W K)⁻¹ W, W the likelihood's curvature at f̂
    reference: np.ndarray  # (≤ EXPLAIN_ROWS, d) standardised reference works, for explain()
    num_answers: int
    evidence: float  # log p(answers | hyperparameters), Laplace's approximation
    config: PreferenceConfig = field(default_factory=PreferenceConfig)

    @classmethod
    def fit(cls, features: np.ndarray, choices: Sequence[Choice], ratings: Sequence[Rating] = (), *,
            reference: np.ndarray | None = None, config: PreferenceConfig | None = None) -> PreferenceModel:
        """Learn a taste from ``choices`` and ``ratings`` about the rows of ``features`` (n, d).

        Features are standardised by the mean and standard deviation of ``reference`` (m, d) —
        typically the pool of works the person is choosing from — or of ``features`` without one.
        With no answers the model is the prior: every score 0, draws from the prior.
        """
        config = config or PreferenceConfig()
        # 1. check inputs
        features = _matrix(features, "features")
        n, d = features.shape
        reference = features if reference is None else _matrix(reference, "reference", width=d)
        choices, ratings = list(choices), list(ratings)
        _check_answers(choices, ratings, n)
        # 2. standardise; only the works answered about enter the likelihood: renumber them 0..m−1
        centre, scale = reference.mean(axis=0), reference.std(axis=0)
        scale = np.where(scale > 1e-12, scale, 1.0)  # a constant feature stays as it is (and says nothing)
        used = sorted({int(i) for c in choices for i in c.shown} | {int(r.item) for r in ratings})
        row = {i: j for j, i in enumerate(used)}
        answers = _Answers([Choice(tuple(row[int(i)] for i in c.shown), row[int(c.picked)]) for c in choices],
                           [Rating(row[int(r.item)], int(r.stars)) for r in ratings])
        support = (features[used] - centre) / scale  # (m, d)
        keep = np.random.default_rng(0).permutation(len(reference))[:EXPLAIN_ROWS]
        standard_reference = (reference[np.sort(keep)] - centre) / scale
        # 3. hyperparameters: maximise evidence × hyperprior, each evaluation a Laplace fit
        prior_hyper = np.log(np.r_[config.bump, config.linear, config.quadratic, np.full(d, config.length)])
        hyper = prior_hyper
        if used and config.fit_hyperparameters:
            hyper = _fit_hyperparameters(support, answers, prior_hyper, config)
        # 4. the Laplace posterior under them
        v, M, evidence = _laplace(_kernel(support, support, hyper), answers)
        return cls(centre, scale, hyper, support, v, M, standard_reference, len(choices) + len(ratings),
                   float(evidence), config)

    # -- what the model says -----------------------------------------------------------------

    def _standard(self, X: np.ndarray) -> np.ndarray:
        return (_matrix(X, "candidates", width=len(self.centre)) - self.centre) / self.scale

    def score(self, X: np.ndarray) -> np.ndarray:
        """The posterior mean liking (n,) of works with raw features X (n, d); higher is better,
        in log-odds of being picked (only differences mean something)."""
        x = self._standard(X)
        if not len(self.support):
            return np.zeros(len(x))
        return _kernel(x, self.support, self.hyper) @ self.v

    def std(self, X: np.ndarray) -> np.ndarray:
        """The posterior standard deviation (n,) of each work's liking."""
        x = self._standard(X)
        var = _kernel_diagonal(x, self.hyper)
        if len(self.support):
            Ks = _kernel(x, self.support, self.hyper)
            var = var - ((Ks @ self.M) * Ks).sum(axis=1)
        return np.sqrt(np.maximum(var, 0.0))

    def draw(self, X: np.ndarray, rng: np.random.Generator, size: int | None = None) -> np.ndarray:
        """A joint posterior sample of the liking (n,) of works X (n, d); ``size`` samples: (size, n)."""
        x = self._standard(X)
        cov = _kernel(x, x, self.hyper)
        mean = np.zeros(len(x))
        if len(self.support):
            Ks = _kernel(x, self.support, self.hyper)
            cov, mean = cov - Ks @ self.M @ Ks.T, Ks @ self.v
        jitter = 1e-6 * (1 + np.abs(np.diag(cov)).max())
        L = np.linalg.cholesky(cov + jitter * np.eye(len(x)))
        eps = rng.standard_normal((len(x), 1 if size is None else size))
        out = (mean[:, None] + L @ eps).T  # (size, n)
        return out[0] if size is None else out

    def explain(self, names: Sequence[str]) -> list[tuple[str, float]]:
        """Which features the answers favour: for each named feature, the mean slope of the liking
        along it (log-odds per standard deviation of the feature) over the reference works,
        strongest first.

        For a linear taste this is its weight; for a preferred region it points from the typical
        work towards the region (positive: the person likes more of the feature than usual).
        """
        names = [str(n) for n in names]
        if len(names) != len(self.centre):
            raise AtelierError(f"explain: {len(names)} feature names for {len(self.centre)} features")
        effect = np.zeros(len(names))
        if len(self.support):
            effect = _kernel_gradient(self.reference, self.support, self.v, self.hyper).mean(axis=0)
        order = np.argsort(-np.abs(effect), kind="stable")
        return [(names[i], float(effect[i])) for i in order]

    def relevance(self) -> np.ndarray:
        """1 / ℓ_j (d,): how much each standardised feature matters to the learned taste."""
        return np.exp(-self.hyper[3:])


# ---------------------------------------------------------------------------------------------
# Fitting: the likelihoods, the Laplace approximation, the evidence


class _Answers:
    """Choices grouped by how many works they show (so each group is one array operation) and ratings."""

    def __init__(self, choices: list[Choice], ratings: list[Rating]) -> None:
        self.groups = []  # (shown (c, k), picked position (c,))
        for k in sorted({len(c.shown) for c in choices}):
            group = [c for c in choices if len(c.shown) == k]
            shown = np.array([c.shown for c in group], dtype=np.int64)
            self.groups.append((shown, np.array([c.shown.index(c.picked) for c in group])))
        self.rated = np.array([r.item for r in ratings], dtype=np.int64)
        stars = np.array([r.stars for r in ratings], dtype=np.int64)
        self.lo = np.r_[-np.inf, CUTS][stars - 1] if len(stars) else np.zeros(0)
        self.hi = np.r_[CUTS, np.inf][stars - 1] if len(stars) else np.zeros(0)

    def log_likelihood(self, f: np.ndarray) -> float:
        total = 0.0
        for shown, picked in self.groups:
            F = f[shown]  # (c, k)
            total += float((F[np.arange(len(F)), picked] - logsumexp(F, axis=1)).sum())
        if len(self.rated):
            fr = f[self.rated]
            # log(σ(hi − f) − σ(lo − f)) = log σ(hi − f) + log σ(f − lo) + log(1 − e^{lo − hi}), stable in both tails
            total += float((log_expit(self.hi - fr) + log_expit(fr - self.lo)
                            + np.log1p(-np.exp(self.lo - self.hi))).sum())
        return total

    def derivatives(self, f: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The gradient (m,) and the negative Hessian W (m, m) of the log-likelihood in f."""
        m = len(f)
        grad, W = np.zeros(m), np.zeros((m, m))
        for shown, picked in self.groups:
            P = np.exp(f[shown] - logsumexp(f[shown], axis=1, keepdims=True))  # (c, k) softmax
            np.add.at(grad, shown, -P)
            np.add.at(grad, shown[np.arange(len(shown)), picked], 1.0)
            block = P[:, :, None] * (np.eye(shown.shape[1])[None] - P[:, None, :])  # diag(p) − ppᵀ per choice
            np.add.at(W, (shown[:, :, None], shown[:, None, :]), block)
        if len(self.rated):
            fr = f[self.rated]
            a, b = expit(self.hi - fr), expit(self.lo - fr)  # σ(θ_s − f), σ(θ_{s−1} − f)
            da, db = a * (1 - a), b * (1 - b)
            p = np.maximum(a - b, 1e-300)
            g = -(da - db) / p
            second = (da * (1 - 2 * a) - db * (1 - 2 * b)) / p - g ** 2  # d²/df² log P(stars | f)
            np.add.at(grad, self.rated, g)
            np.add.at(W, (self.rated, self.rated), -second)
        return grad, W


def _laplace(K: np.ndarray, answers: _Answers, *, start: np.ndarray | None = None,
             max_steps: int = 50) -> tuple[np.ndarray, np.ndarray, float]:
    """The mode f̂ = K v of log p(answers | f) − ½ fᵀK⁻¹f, as v, with M = (I + W K)⁻¹ W and the log
    evidence log p(answers | f̂) − ½ f̂ᵀK⁻¹f̂ − ½ log|I + W K| (Rasmussen & Williams 2006, eq. 3.32).

    Newton's step in f is f′ = (K⁻¹ + W)⁻¹(W f + ∇) = K (I + W K)⁻¹ (W f + ∇), so it is taken on v
    without inverting K; a backtracking line search keeps every step uphill.
    """
    m = len(K)
    K = K + 1e-6 * np.eye(m)  # jitter: K can be near singular when two works are almost the same
    v = np.zeros(m) if start is None else start.copy()
    f = K @ v
    value = answers.log_likelihood(f) - 0.5 * v @ f
    for _ in range(max_steps):
        grad, W = answers.derivatives(f)
        target = np.linalg.solve(np.eye(m) + W @ K, W @ f + grad)
        t = 1.0
        while True:
            v_new = v + t * (target - v)
            f_new = K @ v_new
            new = answers.log_likelihood(f_new) - 0.5 * v_new @ f_new
            if new >= value - 1e-12 or t < 1e-4:
                break
            t /= 2
        v, f, gain, value = v_new, f_new, new - value, new
        if gain < 1e-9:
            break
    _, W = answers.derivatives(f)
    B = np.eye(m) + W @ K
    return v, np.linalg.solve(B, W), float(value - 0.5 * np.linalg.slogdet(B)[1])


def _fit_hyperparameters(support: np.ndarray, answers: _Answers, prior: np.ndarray,
                         config: PreferenceConfig) -> np.ndarray:
    """log [a, b, ℓ] maximising Laplace's evidence plus a log-normal hyperprior around ``prior``
    (L-BFGS with finite differences: a few hundred Laplace fits of a few dozen works, ~0.1 s)."""
    warm = {"v": None}

    def loss(hyper: np.ndarray) -> float:
        try:
            v, _, evidence = _laplace(_kernel(support, support, hyper), answers, start=warm["v"])
        except np.linalg.LinAlgError:
            return 1e10
        warm["v"] = v
        return -(evidence - 0.5 * float((((hyper - prior) / config.spread) ** 2).sum()))

    bounds = [(p - 3 * config.spread, p + 3 * config.spread) for p in prior]
    result = minimize(loss, prior, method="L-BFGS-B", bounds=bounds, options={"maxiter": config.max_iterations})
    return result.x if np.isfinite(result.fun) and result.fun < 1e9 else prior


# ---------------------------------------------------------------------------------------------
# Checks


def _matrix(X: np.ndarray, what: str, *, width: int | None = None) -> np.ndarray:
    arr = np.asarray(X, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[0] < 1:
        raise AtelierError(f"{what}: expected a matrix (n, d) with at least one row, got shape {arr.shape}")
    if width is not None and arr.shape[1] != width:
        raise AtelierError(f"{what}: {arr.shape[1]} features per row; the model was fitted on {width}")
    if not np.isfinite(arr).all():
        raise AtelierError(f"{what}: contains NaN or infinite values; every feature must be a finite number")
    return arr


def _check_answers(choices: list[Choice], ratings: list[Rating], n: int) -> None:
    for c in choices:
        if not isinstance(c, Choice):
            raise AtelierError(f"choices: expected Choice(shown, picked), got {type(c).__name__}")
        if len(c.shown) < 2 or len(set(c.shown)) != len(c.shown):
            raise AtelierError(f"choice {c}: shows {list(c.shown)}; a choice shows 2 or more distinct works")
        if any(not 0 <= int(i) < n for i in c.shown):
            raise AtelierError(f"choice {c}: an index outside the {n} rows of features (0..{n - 1})")
        if c.picked not in c.shown:
            raise AtelierError(f"choice {c}: picked {c.picked}, which is not among the works shown {list(c.shown)}")
    for r in ratings:
        if not isinstance(r, Rating):
            raise AtelierError(f"ratings: expected Rating(item, stars), got {type(r).__name__}")
        if not 0 <= int(r.item) < n:
            raise AtelierError(f"rating {r}: item {r.item} is outside the {n} rows of features (0..{n - 1})")
        if isinstance(r.stars, bool) or int(r.stars) != r.stars or not 1 <= r.stars <= MAX_STARS:
            raise AtelierError(f"rating {r}: stars={r.stars!r}; allowed: a whole number 1 to {MAX_STARS}")


# ---------------------------------------------------------------------------------------------
# Questions and recommendations


def next_question(model: PreferenceModel | None, candidates: np.ndarray, *, k: int = 4,
                  rng: np.random.Generator | None = None) -> list[int]:
    """The ``k`` candidates (rows of ``candidates`` (n, d)) to show next, as distinct row indices.

    Before any answer: k diverse works (farthest-point sampling in standardised features, from a
    random start). After: Thompson sampling (Thompson 1933) — the best work under each of k joint
    posterior draws, so works are shown as often as they are likely to be the person's favourite;
    draws that agree are topped up by further draws, then by the most uncertain works. The draws
    cover the DRAW_POOL candidates of highest upper confidence bound (mean + 2 sd), where the best
    of any draw almost surely lies.

    >>> X = np.random.default_rng(1).normal(size=(50, 2))
    >>> len(set(next_question(None, X, k=3, rng=np.random.default_rng(0))))
    3
    """
    rng = np.random.default_rng() if rng is None else rng
    candidates = _matrix(candidates, "candidates", width=None if model is None else len(model.centre))
    n = candidates.shape[0]
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 2 <= k <= n:
        raise AtelierError(f"k={k!r}: a question shows 2 works or more, and at most the {n} candidates")
    if model is None or model.num_answers == 0:
        return _diverse(candidates, k, rng)
    sd = model.std(candidates)
    ucb = model.score(candidates) + 2 * sd
    pool = np.sort(np.argsort(-ucb, kind="stable")[:DRAW_POOL])
    chosen: list[int] = []
    for draw in model.draw(candidates[pool], rng, size=4 * k):
        best = int(pool[np.argmax(draw)])
        if best not in chosen:
            chosen.append(best)
        if len(chosen) == k:
            return chosen
    for i in np.argsort(-sd, kind="stable"):  # the posterior is sure of its favourite: ask what it knows least
        if int(i) not in chosen:
            chosen.append(int(i))
        if len(chosen) == k:
            break
    return chosen


def _diverse(candidates: np.ndarray, k: int, rng: np.random.Generator) -> list[int]:
    """One typical work from each of k clusters (k-means in standardised features): every answer
    then says which part of the works the person prefers, where extreme works would say little."""
    from sklearn.cluster import KMeans

    scale = candidates.std(axis=0)
    x = (candidates - candidates.mean(axis=0)) / np.where(scale > 1e-12, scale, 1.0)
    km = KMeans(n_clusters=k, n_init=3, random_state=int(rng.integers(2**31 - 1))).fit(x)
    chosen: list[int] = []
    for c in km.cluster_centers_:
        for i in np.argsort(((x - c) ** 2).sum(axis=1), kind="stable"):
            if int(i) not in chosen:
                chosen.append(int(i))
                break
    return chosen


def recommend(model: PreferenceModel | None, candidates: np.ndarray, n: int = 1) -> list[int]:
    """The ``n`` candidates with the highest predicted liking, best first ("generate for me").
    Without a model: the ``n`` most typical candidates (nearest the mean features).

    >>> X = np.array([[0.0], [2.0], [1.0]])
    >>> recommend(PreferenceModel.fit(X, [Choice((0, 1), 1), Choice((0, 2), 2), Choice((1, 2), 1)]), X, 2)
    [1, 2]
    """
    candidates = _matrix(candidates, "candidates", width=None if model is None else len(model.centre))
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not 1 <= n <= len(candidates):
        raise AtelierError(f"n={n!r}: recommend 1 to {len(candidates)} works (the number of candidates)")
    if model is None:
        scale = candidates.std(axis=0)
        x = (candidates - candidates.mean(axis=0)) / np.where(scale > 1e-12, scale, 1.0)
        order = np.argsort((x ** 2).sum(axis=1), kind="stable")
    else:
        order = np.argsort(-model.score(candidates), kind="stable")
    return [int(i) for i in order[:n]]
