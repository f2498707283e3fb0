import wave

import numpy as np
import pytest
from PIL import Image

from atelier.errors import AtelierError
from atelier.music import audio as audio_module
from atelier.music.audio import Audio, default_soundfont, plot_piano_roll, render_audio, write_wav
from atelier.music.events import Melody, Note

# Two bars of 4/4 at 120 qpm: 32 sixteenths of 0.125 s = 4 s.
TUNE = Melody(
    tuple(Note(p, 4 * i, 4 * i + 3) for i, p in enumerate([60, 62, 64, 65, 67, 65, 64, 62])), num_steps=32, qpm=120
)


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(x.astype(np.float64) ** 2)))


@pytest.mark.parametrize("renderer", ["soundfont", "sine"])
def test_rendered_audio_has_the_right_length_and_is_not_silent(renderer):
    audio = render_audio(TUNE, sample_rate=16000, renderer=renderer, tail_seconds=0.5)
    assert audio.renderer == renderer and audio.samples.dtype == np.float32
    assert len(audio.samples) == 16000 * 4 + 8000
    assert np.abs(audio.samples).max() <= 1.0
    # sound where notes play, (nearly) nothing half a second after the release
    assert rms(audio.samples[: 16000 * 4]) > 0.01
    note_two = audio.samples[int(0.5 * 16000) : int(0.8 * 16000)]
    assert rms(note_two) > 0.01


def test_soundfont_is_the_one_shipped_with_pretty_midi():
    assert default_soundfont().is_file() and default_soundfont().stat().st_size > 1_000_000


def test_program_and_tempo_change_the_sound():
    flute = render_audio(TUNE, program=73, sample_rate=16000, tail_seconds=0).samples
    piano = render_audio(TUNE, program=0, sample_rate=16000, tail_seconds=0).samples
    assert not np.allclose(flute, piano)
    assert len(render_audio(TUNE, qpm=60, sample_rate=16000, tail_seconds=0).samples) == 16000 * 8


def test_auto_falls_back_to_the_sine_synthesiser(monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("synthesizer unavailable")

    monkeypatch.setattr(audio_module, "_render_soundfont", broken)
    with pytest.warns(UserWarning, match="using the sine synthesiser"):
        audio = render_audio(TUNE, sample_rate=16000)
    assert audio.renderer == "sine" and rms(audio.samples) > 0.01
    with pytest.raises(AtelierError, match="rendering failed"):
        render_audio(TUNE, renderer="soundfont")


def test_bad_render_options(tmp_path):
    with pytest.raises(AtelierError, match="unknown renderer 'fm'; choose one of: auto, sine, soundfont"):
        render_audio(TUNE, renderer="fm")
    with pytest.raises(AtelierError, match="soundfont .*missing.sf2: not found"):
        render_audio(TUNE, soundfont=tmp_path / "missing.sf2")
    with pytest.raises(AtelierError, match="program 128"):
        render_audio(TUNE, program=128)


def test_wav_is_16_bit_mono_and_atomic(tmp_path, monkeypatch):
    audio = render_audio(TUNE, sample_rate=16000, tail_seconds=0)
    path = write_wav(audio, tmp_path / "tune.wav")
    with wave.open(str(path)) as f:
        assert (f.getnchannels(), f.getsampwidth(), f.getframerate(), f.getnframes()) == (1, 2, 16000, 64000)
        pcm = np.frombuffer(f.readframes(f.getnframes()), dtype="<i2")
    assert np.abs(pcm.astype(np.float32) / 32767 - audio.samples).max() < 1e-4

    class Broken:
        def __init__(self, *a, **k):
            raise OSError("disk full")

    monkeypatch.setattr(audio_module.wave, "open", Broken)
    with pytest.raises(OSError):
        write_wav(Audio(np.zeros(10, np.float32), 8000, "sine"), tmp_path / "other.wav")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tune.wav"]


def test_piano_roll_png(tmp_path):
    path = plot_piano_roll([TUNE, TUNE.transpose(12)], tmp_path / "roll.png", titles=["data", "octave up"])
    with Image.open(path) as image:
        assert image.format == "PNG" and image.width > 200 and image.height > 200
        assert len(np.unique(np.asarray(image.convert("L")))) > 2  # something was drawn
    with pytest.raises(AtelierError, match="2 titles for 1 melodies"):
        plot_piano_roll(TUNE, tmp_path / "x.png", titles=["a", "b"])
