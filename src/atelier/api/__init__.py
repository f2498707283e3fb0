"""The public API: one function per thing a person does with Atelier. The CLI, the gallery and the
studio are thin layers over these, and every family is reached through :mod:`atelier.family`.

=================  =========================================================
``load``           a shipped model by name, or a checkpoint by path
``train``          a preset (or config) on a dataset, through the one loop
``sample``         new images or melodies
``interpolate``    a path between two seeds, images or melodies
``stylize``        a photo in the style of paintings (gatys, fast, adain)
``translate``      image files into the other domain (CycleGAN)
``compose``        melodies from a melody model, optionally continuing a primer
``respond``        call and response: bars that answer a phrase, in its key and meter
``evaluate``       metrics against held-out data
``reproduce``      an artefact again from the recipe inside it, compared with the original
``analyze``        figures about a picture or a melody (colour, composition, key, form…)
``compare``        two works side by side, with a critique against a reference set
=================  =========================================================

A person's taste (ask, answer, rate, generate for them, why, export, delete) is
:mod:`atelier.api.taste`.
"""

from atelier.api.analysis import analyze, compare
from atelier.api.evaluation import evaluate
from atelier.api.models import available_models, interpolate, load, loaded, sample
from atelier.api.music import compose, respond
from atelier.api.reproduce import reproduce
from atelier.api.style import stylize
from atelier.api.training import resolve_config, train
from atelier.api.translate import translate

__all__ = ["analyze", "available_models", "compare", "compose", "evaluate", "interpolate", "load", "loaded", "reproduce", "respond", "resolve_config",
           "sample", "stylize", "train", "translate"]
