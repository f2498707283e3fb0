import numpy as np
import pytest
import torch

from atelier.errors import AtelierError
from atelier.metrics.music import EventScores
from atelier.music.ngram import NGramModel

PATTERN = [2, 0, 3, 0, 4, 1]  # a note, a hold, a note, a hold, a note, note-off: period 6


def repeating(count: int = 60, steps: int = 64) -> torch.Tensor:
    """Windows of PATTERN over and over, window i starting at phase i % 6: LongTensor (count, steps)."""
    return torch.tensor([[PATTERN[(i + t) % 6] for t in range(steps)] for i in range(count)])


def probs(model: NGramModel, window: list[int]) -> np.ndarray:
    """P(· | the events before t) at every step t of one window: (T, C)."""
    return model.log_probs(torch.tensor([window])).exp()[0].double().numpy()


@pytest.mark.parametrize("order", [1, 2, 3, 4, 5])
def test_distributions_sum_to_one_for_seen_and_unseen_contexts(order):
    rng = np.random.default_rng(order)
    train = torch.from_numpy(rng.integers(2, 8, size=(40, 32)))  # events 0, 1 and 8..11 never seen
    model = NGramModel(num_classes=12, order=order).fit(train)
    for windows in (train[:10], torch.from_numpy(rng.integers(0, 12, size=(50, 20)))):
        p = model.log_probs(windows).exp().double()
        assert p.shape == (windows.shape[0], windows.shape[1], 12)
        assert torch.allclose(p.sum(-1), torch.ones(()).double(), atol=1e-6, rtol=0)
        assert (p > 0).all()  # unseen events still have some probability


def test_unseen_contexts_back_off_to_the_same_distribution():
    model = NGramModel(num_classes=6, order=3).fit(torch.tensor([[2, 3, 4, 2, 3, 4, 2, 3]]))
    p = probs(model, [5, 5, 5, 1, 5, 0])
    # contexts (5, 5), (5, 1) and (1, 5) are all unseen at orders 3 and 2: each gets the order-1 distribution
    assert np.allclose(p[2], p[3], atol=1e-7) and np.allclose(p[2], p[5], atol=1e-7)
    assert p[2].argmax() in (2, 3, 4)


def test_repeating_pattern_is_predicted_almost_surely_and_better_than_by_a_unigram():
    windows = repeating()
    four = NGramModel(num_classes=5, order=4).fit(windows)
    one = NGramModel(num_classes=5, order=1).fit(windows)
    log_p = four.log_probs(windows)
    p_next = log_p.gather(-1, windows.unsqueeze(-1)).squeeze(-1).exp()  # (N, T)
    assert float(p_next[:, 2:].min()) > 0.95  # any two events of the pattern determine the next
    assert float(p_next[:, 4:].min()) > 0.99
    scores4, scores1 = four.score(windows), one.score(windows)
    assert scores4["perplexity"] < 1.1 and scores4["accuracy"] > 0.98
    assert scores1["perplexity"] > 3 * scores4["perplexity"]


def test_order_one_is_the_smoothed_unigram_frequency():
    # counts 3, 2, 1, 0 of 6 events, 3 types seen, D = 0.5: P(w) = (max(c(w) - D, 0) + D * 3 / 4) / 6
    model = NGramModel(num_classes=4, order=1, discount=0.5).fit([[0, 0, 0, 1, 1, 2]])
    expected = np.array([2.5 + 0.375, 1.5 + 0.375, 0.5 + 0.375, 0.375]) / 6
    p = probs(model, [3, 0, 2])
    assert np.allclose(p, expected[None, :], atol=1e-6)  # the same at every step: no context


def test_bigram_kneser_ney_by_hand():
    # One sequence 0 1 0 2 0 1 after BOS (= 3), D = 0.5.
    # Bigrams: (3,0) (0,1) (1,0) (0,2) (2,0) (0,1); after 0: c(0,1) = 2, c(0,2) = 1, total 3, 2 types.
    # Continuation counts: 0 follows {3, 1, 2} -> 3, 1 follows {0} -> 1, 2 follows {0} -> 1; 5 in all, 3 types.
    # P1(w) = (max(N(.w) - D, 0) + D * 3 / 3) / 5 = (2.5 + .5, .5 + .5, .5 + .5) / 5 = (.6, .2, .2)
    # P2(w | 0) = (max(c(0w) - D, 0) + D * 2 * P1(w)) / 3 = (0 + .6, 1.5 + .2, .5 + .2) / 3
    model = NGramModel(num_classes=3, order=2, discount=0.5).fit(torch.tensor([[0, 1, 0, 2, 0, 1]]))
    p = probs(model, [0, 0])
    assert np.allclose(p[1], np.array([0.6, 1.7, 0.7]) / 3, atol=1e-6)
    # P2(w | BOS): only (3,0) seen, 1 type, total 1: (1 - .5 + .5 * P1(0), .5 * P1(1), .5 * P1(2))
    assert np.allclose(p[0], [0.8, 0.1, 0.1], atol=1e-6)


def test_lower_orders_keep_raw_counts_after_bos():
    # Sequences [0], [0], [1], order 3, D = 0.5; BOS = 3.
    # Order 3: (B,B,0) x2, (B,B,1) x1. Order 2 begins with BOS, so raw counts: (B,0) 2, (B,1) 1.
    # Order 1, continuation counts: 0 <- {B}, 1 <- {B}: 1 and 1. P1 = (.5 + .5*2/3, .5 + .5*2/3, .5*2/3) / 2
    # P2(. | B) = (1.5 + 1 * P1(0), .5 + 1 * P1(1), P1(2)) / 3 = (23, 11, 2) / 36
    # P3(. | B B) = (1.5 + 1 * P2(0), .5 + 1 * P2(1), P2(2)) / 3 = (77, 29, 2) / 108
    model = NGramModel(num_classes=3, order=3, discount=0.5).fit([[0], [0], np.array([1])])
    assert np.allclose(probs(model, [0])[0], np.array([77, 29, 2]) / 108, atol=1e-6)


def reference_kneser_ney(sequences: list[list[int]], num_classes: int, order: int, discount: float):
    """The same model, written plainly with dicts: a function (context tuple, event) -> probability."""
    bos = num_classes
    counts = [{} for _ in range(order + 1)]  # counts[k][(h..., w)]: raw at k = order, continuation below
    for sequence in sequences:
        padded = [bos] * (order - 1) + list(sequence)
        for t in range(order - 1, len(padded)):
            gram = tuple(padded[t - order + 1:t + 1])
            counts[order][gram] = counts[order].get(gram, 0) + 1
    for k in range(order - 1, 0, -1):
        for gram, count in counts[k + 1].items():
            suffix = gram[1:]
            add = count if suffix[0] == bos else 1
            counts[k][suffix] = counts[k].get(suffix, 0) + add

    def p(context: tuple[int, ...], w: int, k: int) -> float:
        if k == 0:
            return 1 / num_classes
        h = context[len(context) - (k - 1):] if k > 1 else ()
        followers = {g[-1]: c for g, c in counts[k].items() if g[:-1] == h}
        if not followers:
            return p(context, w, k - 1)
        total = sum(followers.values())
        return (max(followers.get(w, 0) - discount, 0) + discount * len(followers) * p(context, w, k - 1)) / total

    return lambda context, w: p(tuple(context), w, order)


@pytest.mark.parametrize("order", [1, 2, 3, 4])
def test_matches_a_plain_implementation(order):
    rng = np.random.default_rng(10 + order)
    sequences = [list(rng.integers(0, 4, size=int(rng.integers(0, 12)))) for _ in range(25)]
    model = NGramModel(num_classes=5, order=order, discount=0.6).fit(sequences)
    reference = reference_kneser_ney(sequences, 5, order, 0.6)
    window = [int(e) for e in rng.integers(0, 5, size=15)]
    padded = [5] * (order - 1) + window
    expected = np.array([[reference(padded[t:t + order - 1], w) for w in range(5)] for t in range(15)])
    assert np.allclose(probs(model, window), expected, atol=1e-6)


def test_a_list_of_sequences_counts_like_a_tensor():
    rng = np.random.default_rng(0)
    windows = torch.from_numpy(rng.integers(0, 6, size=(20, 16)))
    tensor = NGramModel(num_classes=6, order=3).fit(windows)
    listed = NGramModel(num_classes=6, order=3).fit([w.numpy() for w in windows[:10]] + list(windows[10:]))
    assert torch.allclose(tensor.log_probs(windows), listed.log_probs(windows))
    ragged = NGramModel(num_classes=6, order=3).fit([[1, 2, 3], [], [4, 5, 1, 2, 3, 4, 5]])
    assert ragged.num_tokens == 10


def test_score_has_the_event_scores_metrics():
    windows = repeating(12, 32)
    model = NGramModel(num_classes=5).fit(windows)
    scores = EventScores()
    scores.add(model.log_probs(windows), windows)
    expected = scores.metrics()
    got = model.score(windows)
    assert list(got) == list(expected)
    assert got == pytest.approx(expected)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"num_classes": 5, "order": 0}, "order=0"),
        ({"num_classes": 5, "order": 2.5}, "order=2.5"),
        ({"num_classes": 5, "discount": 0.0}, "discount=0.0"),
        ({"num_classes": 5, "discount": 1.0}, "discount=1.0"),
        ({"num_classes": 5, "discount": -0.3}, "discount=-0.3"),
        ({"num_classes": 0}, "num_classes=0"),
        ({"num_classes": 130, "order": 20}, "order=20 is too large"),
    ],
)
def test_bad_arguments(kwargs, message):
    with pytest.raises(AtelierError, match=message):
        NGramModel(**kwargs)


def test_bad_windows():
    model = NGramModel(num_classes=5, order=2)
    with pytest.raises(AtelierError, match="not fitted"):
        model.log_probs(torch.zeros(2, 3, dtype=torch.long))
    with pytest.raises(AtelierError, match=r"events must be in 0\.\.4, got 0\.\.5"):
        model.fit(torch.tensor([[0, 5]]))
    with pytest.raises(AtelierError, match=r"sequence 1: events must be in 0\.\.4, got -1\.\.2"):
        model.fit([[0, 1], [2, -1]])
    with pytest.raises(AtelierError, match="no events"):
        model.fit([[], []])
    with pytest.raises(AtelierError, match="sequence 0 must be a 1-D sequence of integer events"):
        model.fit([[0.5, 1.0]])
    with pytest.raises(AtelierError, match="sequence 0 must be a 1-D"):
        model.fit(np.array([0, 1, 2]))  # one sequence, not a list of them
    with pytest.raises(AtelierError, match=r"LongTensor \(N, T\)"):
        model.fit(torch.tensor([0, 1, 2]))
    model.fit(torch.tensor([[0, 1, 2]]))
    with pytest.raises(AtelierError, match=r"windows: must be a LongTensor \(N, T\) of melody events, got \(3,\)"):
        model.log_probs(torch.tensor([0, 1, 2]))
    with pytest.raises(AtelierError, match=r"got \(1, 3\) of torch.float32"):
        model.score(torch.zeros(1, 3))
    with pytest.raises(AtelierError, match=r"events must be in 0\.\.4"):
        model.score(torch.tensor([[7, 0]]))
