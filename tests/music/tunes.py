"""Small made-up tunes for the model tests: C major, 4/4, bars that repeat like folk tunes."""

from pathlib import Path

import numpy as np
import torch

from atelier.music.events import Melody, MelodyEncoding, Note
from atelier.music.midi import write_midi

SCALE = [60, 62, 64, 65, 67, 69, 71, 72]
RHYTHMS = [(4, 4, 4, 4), (4, 2, 2, 8), (2, 2, 4, 4, 4), (8, 4, 4), (4, 4, 8)]


def tune(seed: int, bars: int = 8, name: str | None = None) -> Melody:
    """A seeded tune: two 2-bar phrases, each repeated, then varied; notes from the C major scale."""
    rng = np.random.default_rng(seed)
    phrases = []
    for _ in range(2):
        phrase, position = [], 0
        for _ in range(2):
            rhythm = RHYTHMS[rng.integers(len(RHYTHMS))]
            for length in rhythm:
                phrase.append((int(SCALE[rng.integers(len(SCALE))]), position, position + length))
                position += length
        phrases.append(phrase)
    notes, offset = [], 0
    while offset < bars * 16:
        for phrase in phrases:
            for pitch, start, end in phrase:
                if offset + end <= bars * 16:
                    notes.append(Note(pitch, offset + start, offset + end))
            offset += 32
    notes = [n for n in notes if n.start_step < bars * 16]
    return Melody(tuple(notes), num_steps=bars * 16, name=name or f"tune{seed}")


def tunes(count: int, bars: int = 8) -> list[Melody]:
    return [tune(seed, bars) for seed in range(count)]


def windows(melodies, steps: int, encoding: MelodyEncoding = MelodyEncoding()) -> torch.Tensor:
    """Non-overlapping windows of ``steps`` events: LongTensor (N, steps)."""
    rows = []
    for m in melodies:
        events = m.to_events(encoding)
        rows += [events[i:i + steps] for i in range(0, len(events) - steps + 1, steps)]
    return torch.from_numpy(np.stack(rows))


def midi_folder(folder: Path, count: int = 10, bars: int = 8) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for melody in tunes(count, bars):
        write_midi(melody, folder / f"{melody.name}.mid")
    return folder


def train(module, config, data, out_dir: Path, *, steps: int, batch_size: int = 16, seed: int = 0, **task_kwargs):
    """Train a family's task with the real loop, quietly: ``(task, TrainResult)``."""
    from atelier.training import TrainConfig, fit

    task = module.build_task(config, seed=seed, **task_kwargs)
    loop = TrainConfig(num_steps=steps, batch_size=batch_size, seed=seed, log_every=1, sample_every=0,
                       eval_every=0, checkpoint_every=0, tensorboard=False, progress=False)
    return task, fit(task, data, config=loop, out_dir=out_dir)
