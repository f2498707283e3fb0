import hashlib
import http.server
import socket
import threading
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from atelier.errors import AtelierError
from atelier.style import features
from atelier.style.features import (
    FeatureNet,
    VGG19Features,
    build_backbone,
    download_file,
    load_vgg19_state_dict,
    resolve_vgg19_weights,
    vgg19_layer_names,
)

# torchvision's vgg19().features, configuration E: 64, 64, M, 128, 128, M, 256 x4, M, 512 x4, M,
# 512 x4, M. Each conv is followed by a ReLU and each M is a pooling layer, which is what moves
# the indices: (index in features, out channels, in channels) of the 16 convolutions.
CONVS = [
    (0, 64, 3), (2, 64, 64),
    (5, 128, 64), (7, 128, 128),
    (10, 256, 128), (12, 256, 256), (14, 256, 256), (16, 256, 256),
    (19, 512, 256), (21, 512, 512), (23, 512, 512), (25, 512, 512),
    (28, 512, 512), (30, 512, 512), (32, 512, 512), (34, 512, 512),
]  # fmt: skip
EXPECTED_SHAPES = {}
for i, c_out, c_in in CONVS:
    EXPECTED_SHAPES[f"features.{i}.weight"] = (c_out, c_in, 3, 3)
    EXPECTED_SHAPES[f"features.{i}.bias"] = (c_out,)


@pytest.fixture(autouse=True)
def no_user_weights(monkeypatch, tmp_path):
    """Tests never see the user's env var or cache."""
    monkeypatch.delenv("ATELIER_VGG_WEIGHTS", raising=False)
    monkeypatch.setenv("ATELIER_CACHE", str(tmp_path / "cache"))


def fake_vgg19_state(seed=0, prefix="features."):
    gen = torch.Generator().manual_seed(seed)
    state = {prefix + k[len("features.") :]: torch.randn(s, generator=gen) for k, s in EXPECTED_SHAPES.items()}
    state["classifier.0.weight"] = torch.randn(4, 3, generator=gen)  # ignored on load
    return state


# --- VGG-19 layout ----------------------------------------------------------------------------


def test_vgg19_state_dict_matches_torchvision_names_and_shapes():
    state = VGG19Features().state_dict()
    assert len(EXPECTED_SHAPES) == 32
    assert {k: tuple(v.shape) for k, v in state.items()} == EXPECTED_SHAPES
    assert list(state) == list(EXPECTED_SHAPES)  # same order too


def test_vgg19_layer_names_follow_torchvision_indices():
    names = vgg19_layer_names()
    assert len(names) == 37
    assert names[0] == "conv1_1" and names[1] == "relu1_1" and names[4] == "pool1"
    assert names[21] == "conv4_2" and names[22] == "relu4_2" and names[35] == "relu5_4"
    assert [names[i] for i, _, _ in CONVS][-1] == "conv5_4"


def test_vgg19_stops_at_the_deepest_requested_layer():
    net = VGG19Features().freeze()
    calls = []
    net.features[5].register_forward_hook(lambda *a: calls.append(5))  # conv2_1
    out = net(torch.rand(1, 3, 16, 16), ["relu1_1", "relu1_2"])
    assert sorted(out) == ["relu1_1", "relu1_2"] and calls == []
    assert tuple(out["relu1_2"].shape) == (1, 64, 16, 16)
    out = net(torch.rand(1, 3, 32, 32), ["relu4_2"])
    assert tuple(out["relu4_2"].shape) == (1, 512, 4, 4) and calls == [5]


def test_unknown_layer_lists_the_layers():
    net = build_backbone("random-multiscale")
    with pytest.raises(AtelierError, match="unknown layer.*'relu4_2'.*scale1, scale16"):
        net(torch.rand(1, 3, 32, 32), ["relu4_2"])


# --- weights files ----------------------------------------------------------------------------


@pytest.mark.parametrize("prefix", ["features.", ""])
def test_pth_weights_round_trip(tmp_path, prefix):
    state = fake_vgg19_state(prefix=prefix)
    path = tmp_path / "vgg.pth"
    torch.save(state, path)
    net = build_backbone("vgg19", weights=path)
    for k, v in net.state_dict().items():
        assert torch.equal(v, state[prefix + k[len("features.") :]]), k


def test_safetensors_weights_round_trip(tmp_path):
    state = fake_vgg19_state(seed=1)
    path = tmp_path / "vgg.safetensors"
    save_file(state, str(path))
    loaded = load_vgg19_state_dict(path)
    assert "classifier.0.weight" not in loaded
    assert all(torch.equal(loaded[k], state[k]) for k in EXPECTED_SHAPES)


def test_weights_from_environment(tmp_path, monkeypatch):
    path = tmp_path / "env.pth"
    torch.save(fake_vgg19_state(seed=2), path)
    monkeypatch.setenv("ATELIER_VGG_WEIGHTS", str(path))
    net = build_backbone("vgg19")
    assert torch.equal(net.state_dict()["features.0.bias"], fake_vgg19_state(seed=2)["features.0.bias"])


def test_wrong_shape_names_the_layer_and_both_shapes(tmp_path):
    state = fake_vgg19_state()
    state["features.12.weight"] = torch.zeros(256, 128, 3, 3)
    torch.save(state, tmp_path / "bad.pth")
    with pytest.raises(AtelierError) as e:
        build_backbone("vgg19", weights=tmp_path / "bad.pth")
    message = str(e.value)
    assert "conv3_2" in message and "features.12.weight" in message
    assert "(256, 128, 3, 3)" in message and "(256, 256, 3, 3)" in message


def test_missing_layer_is_named(tmp_path):
    state = fake_vgg19_state()
    del state["features.34.bias"]
    torch.save(state, tmp_path / "short.pth")
    with pytest.raises(AtelierError, match=r"lack layer conv5_4 \(features.34.bias\)"):
        load_vgg19_state_dict(tmp_path / "short.pth")


class Payload:
    """Anything but tensors: a pickle of this must not be loaded."""


def test_pickled_objects_are_refused(tmp_path):
    torch.save({"features.0.weight": Payload()}, tmp_path / "evil.pth")
    with pytest.raises(AtelierError, match="not a readable .pth or .safetensors"):
        load_vgg19_state_dict(tmp_path / "evil.pth")


def test_vgg19_needs_weights_and_never_downloads_by_itself():
    with pytest.raises(AtelierError, match="ATELIER_VGG_WEIGHTS.*download=True"):
        build_backbone("vgg19")


def test_missing_weights_file_is_named():
    with pytest.raises(AtelierError, match="'/no/such.pth' do not exist"):
        build_backbone("vgg19", weights="/no/such.pth")


# --- backbones --------------------------------------------------------------------------------


def test_unknown_backbone_lists_the_choices():
    with pytest.raises(AtelierError, match="unknown backbone .vgg16.; choose one of: efficientnet-lite0, random-multiscale, random-vgg19, vgg19"):
        build_backbone("vgg16")


def test_random_backbones_refuse_weights(tmp_path):
    with pytest.raises(AtelierError, match="loads no VGG weights"):
        build_backbone("random-vgg19", weights=tmp_path / "x.pth")


@pytest.mark.parametrize("name", ["random-multiscale", "random-vgg19"])
def test_random_backbones_are_deterministic_and_frozen(name):
    img = torch.rand(1, 3, 32, 32)
    a, b, c = build_backbone(name, seed=0), build_backbone(name, seed=0), build_backbone(name, seed=1)
    assert isinstance(a, FeatureNet) and not any(p.requires_grad for p in a.parameters())
    fa, fb, fc = a(img), b(img), c(img)
    assert sorted(fa) == sorted(set(a.style_layers) | set(a.content_layers))
    assert all(torch.equal(fa[k], fb[k]) for k in fa)
    assert not torch.equal(fa[a.style_layers[0]], fc[a.style_layers[0]])


def test_random_multiscale_layers_halve_the_size():
    net = build_backbone("random-multiscale")
    out = net(torch.rand(2, 3, 64, 48))
    assert [tuple(out[k].shape[-2:]) for k in net.style_layers] == [(64, 48), (32, 24), (16, 12), (8, 6), (4, 3)]


# --- download ---------------------------------------------------------------------------------

PAYLOAD = bytes(range(256)) * 400  # 100 KiB
PAYLOAD_SHA = hashlib.sha256(PAYLOAD).hexdigest()


@pytest.fixture
def server():
    """A server on 127.0.0.1: /ok serves PAYLOAD, /cut promises it all but stops halfway."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Length", str(len(PAYLOAD)))
            self.end_headers()
            body = PAYLOAD if "cut" not in self.path else PAYLOAD[: len(PAYLOAD) // 2]
            self.wfile.write(body)
            self.wfile.flush()
            self.close_connection = True

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_download_checks_and_saves(server, tmp_path):
    dest = download_file(f"{server}/ok", tmp_path / "w.pth", sha256=PAYLOAD_SHA, progress=False)
    assert dest.read_bytes() == PAYLOAD
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w.pth"]  # no temp file left
    # a prefix of the digest, as in torchvision's file names, is accepted too
    download_file(f"{server}/ok", tmp_path / "v.pth", sha256=PAYLOAD_SHA[:8], progress=False)


def test_download_with_wrong_checksum_leaves_nothing(server, tmp_path):
    with pytest.raises(AtelierError, match=f"sha256 {PAYLOAD_SHA}, expected one starting with 12345678"):
        download_file(f"{server}/ok", tmp_path / "w.pth", sha256="12345678", progress=False)
    assert list(tmp_path.iterdir()) == []


def test_interrupted_download_leaves_nothing(server, tmp_path):
    with pytest.raises(AtelierError, match="nothing was saved"):
        download_file(f"{server}/cut", tmp_path / "w.pth", sha256=PAYLOAD_SHA, progress=False)
    assert list(tmp_path.iterdir()) == []


def test_unreachable_server_is_an_atelier_error(tmp_path):
    with socket.socket() as s:  # a port that was free a moment ago: the connection is refused
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(AtelierError, match="failed.*nothing was saved"):
        download_file(f"http://127.0.0.1:{port}/w.pth", tmp_path / "w.pth", sha256=PAYLOAD_SHA, progress=False)
    assert list(tmp_path.iterdir()) == []


def test_resolve_downloads_into_the_cache_only_when_asked(server, tmp_path):
    url = f"{server}/vgg19-ok"
    with pytest.raises(AtelierError, match="download=True"):
        resolve_vgg19_weights(url=url, sha256=PAYLOAD_SHA)
    path = resolve_vgg19_weights(download_ok=True, url=url, sha256=PAYLOAD_SHA, progress=False)
    assert path == tmp_path / "cache" / "vgg19-ok" and path.read_bytes() == PAYLOAD
    # found in the cache next time, without asking
    assert resolve_vgg19_weights(url=url, sha256=PAYLOAD_SHA) == path


def test_default_url_and_hash_are_torchvisions():
    assert features.VGG19_URL == "https://download.pytorch.org/models/vgg19-dcbb9e9d.pth"
    assert Path(features.VGG19_URL).stem.endswith(features.VGG19_SHA256)
