"""The shared decoder of the melody models: controls, masks, top-p, beam search."""

import math

import pytest
import torch

from atelier.errors import AtelierError
from atelier.music.events import MelodyEncoding
from atelier.music.sampling import Controls, allowed_masks, choose, decode

ENCODING = MelodyEncoding(60, 71)  # events: 0 hold, 1 off, 2..13 = C4..B4
C_MAJOR = frozenset({0, 2, 4, 5, 7, 9, 11})


def uniform(events, t, state):
    return torch.zeros(events.shape[0], ENCODING.num_classes).log_softmax(-1), state


@pytest.mark.parametrize("kwargs, message", [
    (dict(temperature=0), "temperature=0"),
    (dict(temperature=float("nan")), "temperature=nan"),
    (dict(top_p=0), "top_p=0"),
    (dict(top_p=1.5), "top_p=1.5"),
    (dict(scale=frozenset({12})), "pitch classes in 0..11"),
    (dict(tonic=13), "tonic=13"),
    (dict(scale=C_MAJOR, tonic=1), "tonic=1 is not in scale"),
    (dict(steps_per_bar=0), "steps_per_bar=0"),
])
def test_controls_refuse_bad_values(kwargs, message):
    with pytest.raises(AtelierError, match=message):
        Controls(**kwargs)


def test_key_mask_keeps_hold_off_and_scale_notes():
    mask = allowed_masks([Controls(scale=C_MAJOR)], ENCODING, num_steps=32, primed=0)[0, 0]
    allowed_pitches = [60 + e - 2 for e in range(2, ENCODING.num_classes) if mask[e]]
    assert mask[0] and mask[1] and allowed_pitches == [60, 62, 64, 65, 67, 69, 71]


def test_ending_strikes_a_tonic_on_the_last_downbeat_and_holds_it():
    controls = [Controls(tonic=7, steps_per_bar=16)]
    masks = allowed_masks(controls, ENCODING, num_steps=32, primed=0)[0]
    assert masks[15].all()  # free before the last bar
    assert masks[16].nonzero().flatten().tolist() == [67 - 60 + 2]  # only G
    assert masks[20].nonzero().flatten().tolist() == [0]
    # a primer that covers the last bar is not changed
    assert allowed_masks(controls, ENCODING, num_steps=32, primed=24)[0, 20].all()


def test_top_p_draws_only_from_the_smallest_set_that_reaches_p():
    probs = torch.tensor([[0.5, 0.3, 0.15, 0.05]])
    g = torch.Generator().manual_seed(0)
    draws = {int(choose(probs.log(), Controls(top_p=0.75), g)) for _ in range(300)}
    assert draws == {0, 1}  # 0.5 + 0.3 ≥ 0.75; 0.15 and 0.05 never drawn
    draws = {int(choose(probs.log(), Controls(top_p=1.0), g)) for _ in range(300)}
    assert draws == {0, 1, 2, 3}


def test_decode_keeps_every_row_to_its_own_key_and_is_seeded():
    rows = [Controls(scale=C_MAJOR, tonic=0, steps_per_bar=8), Controls(scale=frozenset({1, 3, 6, 8, 10}), tonic=6,
                                                                         steps_per_bar=8)]
    primer = torch.zeros(0, dtype=torch.long)
    out = decode(uniform, None, n=2, num_steps=24, primer=primer, encoding=ENCODING, controls=rows, seed=3)
    for row, controls in zip(out, rows):
        pitch_classes = {(int(e) - 2 + 60) % 12 for e in row if e >= 2}
        assert pitch_classes <= controls.scale
        assert (int(row[16]) - 2 + 60) % 12 == controls.tonic and set(row[17:].tolist()) == {0}
    again = decode(uniform, None, n=2, num_steps=24, primer=primer, encoding=ENCODING, controls=rows, seed=3)
    assert torch.equal(out, again)
    with pytest.raises(AtelierError, match="2 controls for 3 rows"):
        decode(uniform, None, n=3, num_steps=8, primer=primer, encoding=ENCODING, controls=rows, seed=0)


def test_beam_search_keeps_the_likeliest_candidates():
    """A model that likes event 2 much more than the rest: the beam's winners are at least as likely
    as plain samples drawn with the same seed, and the primer is kept."""
    def biased(events, t, state):
        logits = torch.zeros(events.shape[0], ENCODING.num_classes)
        logits[:, 2] = 2.0
        return logits.log_softmax(-1), state

    def log_likelihood(rows):
        log_p = biased(rows, 0, None)[0][0]
        return log_p[rows[:, 2:]].sum(dim=1)

    primer = torch.tensor([5, 0])
    plain = decode(biased, None, n=4, num_steps=12, primer=primer, encoding=ENCODING, controls=Controls(), seed=1)
    beam = decode(biased, None, n=4, num_steps=12, primer=primer, encoding=ENCODING, controls=Controls(), seed=1,
                  beam_size=4, branch_factor=4, steps_per_iteration=2)
    assert (beam[:, :2] == primer).all()
    assert log_likelihood(beam).mean() > log_likelihood(plain).mean()
    assert not math.isinf(log_likelihood(beam).min())
