"""Image-model commands: sample, interpolate, reconstruct, encode, decode."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from atelier.api import interpolate, load, sample
from atelier.cli.taste import add_taste_option
from atelier.errors import AtelierError
from atelier.images.grid import to_pil, write_gif, write_grid
from atelier.imageio import read_image_batch, write_image
from atelier.provenance import make_recipe, with_output


def add_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sample", help="generate images from a GAN or VAE")
    p.add_argument("model", help="checkpoint path or shipped model name (see `atelier models`)")
    p.add_argument("--n", type=int, default=64, help="number of images (default: 64)")
    p.add_argument("--seed", type=int, default=0, help="random seed; the same seed gives the same images (default: 0)")
    p.add_argument("--class", dest="label", default=None,
                   help="class to generate (conditional models), or 'all' for one row per class "
                        "(then --n must be a multiple of the number of classes)")
    p.add_argument("--truncation", type=float, default=None, help="GAN truncation threshold, e.g. 0.7")
    p.add_argument("--temperature", type=float, default=None, help="VAE prior temperature (default: 1.0)")
    p.add_argument("--nrow", type=int, default=None,
                   help="images per row of the grid, at least 1 (default: a square grid; one row per class "
                        "with --class all)")
    p.add_argument("--out", required=True,
                   help="a .png/.jpg/.webp file for a grid, or a folder for one file per image")
    add_taste_option(p, "the images this person is predicted to like most")
    p.set_defaults(handler=_sample)

    p = sub.add_parser("interpolate", help="morph between two seeds, two images, or two melodies")
    p.add_argument("model", help="checkpoint path or shipped model name")
    p.add_argument("inputs", nargs="*", help="two images (VAE) or two MIDI files (music models)")
    p.add_argument("--seeds", default="0,1", help="two seeds to interpolate between (default: 0,1)")
    p.add_argument("--steps", type=int, default=8, help="frames including both ends (default: 8)")
    p.add_argument("--class", dest="label", type=int, default=None, help="class to morph within (conditional models)")
    p.add_argument("--out", required=True,
                   help="images: the strip of frames (.png/.jpg/.webp), with an animated GIF written beside it; "
                        "music models: a folder of MIDI files (one per step, and all steps in one), their piano "
                        "rolls (.png) and audio (.wav)")
    p.add_argument("--gif", default=None, help="images: path of the animated GIF (default: OUT with .gif)")
    p.set_defaults(handler=_interpolate)

    p = sub.add_parser("reconstruct", help="VAE: encode and decode images, shown beside the originals")
    p.add_argument("model", help="a VAE: checkpoint path or shipped model name (e.g. mnist-vae)")
    p.add_argument("images", nargs="*",
                   help="image files, resized to the model's size (default: --n held-out images of --data)")
    p.add_argument("--data", default="mnist",
                   help="without image files: the dataset whose held-out split is shown (default: mnist)")
    p.add_argument("--n", type=int, default=16, help="without image files: how many held-out images (default: 16)")
    p.add_argument("--out", required=True,
                   help="a grid picture (.png/.jpg/.webp): each original followed by its reconstruction")
    p.set_defaults(handler=_reconstruct)

    p = sub.add_parser("encode", help="VAE: images → latent means, saved as .npz")
    p.add_argument("model", help="a VAE: checkpoint path or shipped model name (e.g. mnist-vae)")
    p.add_argument("images", nargs="+", help="image files, resized to the model's size")
    p.add_argument("--class", dest="label", type=int, default=None,
                   help="conditional VAEs: the class of every image")
    p.add_argument("--out", required=True,
                   help="an .npz file with arrays mu and logvar (N, latent size), files (the inputs, in order) "
                        "and atelier (the recipe)")
    p.set_defaults(handler=_encode)

    p = sub.add_parser("decode", help="VAE: latents from an .npz (array mu or z) → images")
    p.add_argument("model", help="a VAE: checkpoint path or shipped model name (e.g. mnist-vae)")
    p.add_argument("latents", help="an .npz written by `atelier encode` (array mu), or one with an array z "
                                   "(N, latent size) of finite numbers")
    p.add_argument("--class", dest="label", type=int, default=None,
                   help="conditional VAEs: the class of every image")
    p.add_argument("--out", required=True, help="a grid picture (.png/.jpg/.webp) of the decoded images")
    p.set_defaults(handler=_decode)


# ---- helpers -----------------------------------------------------------------------------------

# The command for a model that makes no images of its own, by what it makes (and, for the style
# models, which all transform pictures, by kind).
OTHER_COMMANDS = {"melodies": "atelier compose", "pictures": "atelier stylize"}
PICTURE_COMMANDS = {"cyclegan": "atelier translate"}


def _load_image_model(name: str):
    model = load(name)
    if model.outputs != "images":
        command = PICTURE_COMMANDS.get(model.kind) or OTHER_COMMANDS.get(model.outputs)
        use = f"; use `{command}`" if command else ""
        raise AtelierError(f"model {name}: a {model.kind} model, not an image generator (GAN or VAE){use}")
    return model


def _require_vae(model, name: str):
    if model.kind != "vae":
        raise AtelierError(f"model {name}: encode/decode/reconstruct need a VAE, this is a {model.kind.upper()}")
    return model


def _labels(model, label: int | str | None, n: int) -> list[int] | None:
    """``--class``: one class for every image, or ``all``: the classes in turn, n/classes of each."""
    if label is None:
        return None
    if label == "all":
        classes = getattr(model.config, "num_classes", 0)
        if not classes:
            raise AtelierError("--class all needs a class-conditional model; this one is unconditional")
        if n % classes:  # otherwise some classes would be missing or get fewer rows
            raise AtelierError(f"--class all shows one row per class: --n must be a multiple of the {classes} "
                               f"classes (e.g. {classes}, {2 * classes}, {10 * classes}), got {n}")
        return [i // (n // classes) for i in range(n)]
    try:
        return [int(label)] * n
    except ValueError:
        raise AtelierError(f"--class {label!r}: expected a class number or 'all'") from None


def _read_images(paths: list[str], model) -> torch.Tensor:
    batch = read_image_batch(paths, channels=model.config.channels, size=model.config.image_size)
    return torch.from_numpy(batch).float().div(127.5).sub(1.0)


# ---- handlers ----------------------------------------------------------------------------------

def _sample(args: argparse.Namespace) -> int:
    if args.n <= 0:
        raise AtelierError(f"--n must be a positive number of images, got {args.n}")
    if args.nrow is not None and args.nrow < 1:
        raise AtelierError(f"--nrow must be at least 1 image per row, got {args.nrow}")
    if args.taste is not None:
        from atelier.cli.taste import for_me_command

        if args.truncation is not None or args.temperature is not None or args.label == "all":
            raise AtelierError("--taste chooses among the model's plain samples; leave out --truncation, "
                               "--temperature and --class all")
        label = None if args.label is None else int(args.label)
        return for_me_command(args, n=args.n, label=label)
    model = _load_image_model(args.model)
    labels = _labels(model, args.label, args.n)
    params = {"n": args.n, "seed": args.seed, "labels": labels, "truncation": args.truncation,
              "temperature": args.temperature}
    images = sample(model, **params)
    out = Path(args.out)
    recipe = make_recipe("sample", params, model=args.model)
    if out.suffix:
        nrow = args.nrow or (args.n // model.config.num_classes if args.label == "all" else None)
        write_grid(images, out, nrow=nrow, metadata=with_output(recipe, nrow=nrow))
        print(f"wrote a grid of {args.n} images: {out}")
    else:
        for i, img in enumerate(images):
            write_image(to_pil(img), out / f"sample_{i:04d}.png", metadata=with_output(recipe, index=i))
        print(f"wrote {args.n} images to {out}/")
    return 0


def _interpolate(args: argparse.Namespace) -> int:
    if args.steps < 2:
        raise AtelierError(f"--steps must be at least 2 (both ends), got {args.steps}")
    model = load(args.model)
    if model.outputs == "melodies":
        from atelier.cli import music as music_cli  # music models interpolate MIDI files

        return music_cli.interpolate_command(model, args)
    if args.inputs:
        if len(args.inputs) != 2:
            raise AtelierError(f"interpolate takes two images, got {len(args.inputs)}")
        _require_vae(model, args.model)
        a, b = _read_images(args.inputs, model)
        frames = interpolate(model, a, b, steps=args.steps, label=args.label)
        recipe = make_recipe("interpolate", {"images": args.inputs, "steps": args.steps, "label": args.label},
                             model=args.model, input_params=["images"])
    else:
        try:
            seed_a, seed_b = (int(s) for s in args.seeds.split(","))
        except ValueError:
            raise AtelierError(f"--seeds {args.seeds!r}: expected two integers like 0,1") from None
        frames = interpolate(model, seed_a, seed_b, steps=args.steps, label=args.label)
        recipe = make_recipe("interpolate", {"seeds": [seed_a, seed_b], "steps": args.steps, "label": args.label},
                             model=args.model)
    out = Path(args.out)
    write_grid(frames, out, nrow=args.steps, metadata=recipe)
    gif = Path(args.gif) if args.gif else out.with_suffix(".gif")
    write_gif(frames, gif, metadata=recipe)
    print(f"wrote {out} and {gif}")
    return 0


def _reconstruct(args: argparse.Namespace) -> int:
    model = _require_vae(_load_image_model(args.model), args.model)
    if args.images:
        x, y = _read_images(args.images, model), None
    else:
        from atelier.data.images import load_images

        if args.n <= 0:
            raise AtelierError(f"--n must be positive, got {args.n}")
        _, held_out = load_images(args.data, size=model.config.image_size, channels=model.config.channels).split(seed=0)
        x, y = held_out.get_batch(torch.arange(min(args.n, len(held_out))))
    with torch.no_grad():
        recon = model.reconstruct(x, y if model.config.num_classes else None)
    pairs = torch.stack([x, recon], dim=1).flatten(0, 1)  # original, reconstruction, original, …
    params = {"images": args.images} if args.images else {"data": args.data, "n": args.n}
    recipe = make_recipe("reconstruct", params, model=args.model, input_params=["images"])
    write_grid(pairs, args.out, nrow=min(16, pairs.shape[0]), metadata=recipe)
    print(f"wrote originals beside reconstructions: {args.out}")
    return 0


def _encode(args: argparse.Namespace) -> int:
    from atelier.io import write_npz

    model = _require_vae(_load_image_model(args.model), args.model)
    x = _read_images(args.images, model)
    with torch.no_grad():
        mu, logvar = model.encode(x, _labels(model, args.label, len(x)))
    out = Path(args.out)
    if out.suffix != ".npz":
        raise AtelierError(f"--out {out}: latents are written as .npz")
    recipe = make_recipe("encode", {"images": args.images, "label": args.label}, model=args.model,
                         input_params=["images"])
    write_npz(out, mu=mu.numpy(), logvar=logvar.numpy(), files=np.array(args.images), metadata=recipe)
    print(f"wrote {len(x)} latent codes of size {mu.shape[1]}: {out}")
    return 0


def _decode(args: argparse.Namespace) -> int:
    model = _require_vae(_load_image_model(args.model), args.model)
    path = Path(args.latents)
    if not path.is_file():
        raise AtelierError(f"latents {path}: no such file")
    try:
        with np.load(path, allow_pickle=False) as npz:
            key = "z" if "z" in npz.files else "mu" if "mu" in npz.files else None
            if key is None:
                raise AtelierError(f"latents {path}: no array 'z' or 'mu' (found: {', '.join(npz.files)})")
            z = torch.from_numpy(npz[key]).float()
    except (OSError, ValueError, EOFError) as exc:
        raise AtelierError(f"latents {path}: not a readable .npz file ({exc})") from None
    z_dim = model.config.z_dim
    if z.ndim != 2 or z.shape[1] != z_dim:
        raise AtelierError(f"latents {path}: shape {tuple(z.shape)}, the model takes (N, {z_dim})")
    finite = torch.isfinite(z)
    if not finite.all():  # a NaN or an infinity decodes to a black square without complaint
        bad = z[~finite]
        kinds = [name for name, hit in (("NaN", bad.isnan()), ("inf", bad > 0), ("-inf", bad < 0)) if hit.any()]
        rows = (~finite).any(dim=1).nonzero().flatten().tolist()
        shown = ", ".join(map(str, rows[:5])) + (", …" if len(rows) > 5 else "")
        raise AtelierError(f"latents {path}: array {key!r} holds {' and '.join(kinds)} in row{'s' * (len(rows) > 1)} "
                           f"{shown}; latents must be finite numbers")
    with torch.no_grad():
        images = model.decode(z, _labels(model, args.label, len(z)))
    recipe = make_recipe("decode", {"latents": args.latents, "label": args.label}, model=args.model,
                         input_params=["latents"])
    write_grid(images, args.out, metadata=recipe)
    print(f"decoded {len(z)} latents: {args.out}")
    return 0
