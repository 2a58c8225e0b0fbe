"""core.features and core.vision_models' layer listing: shapes, parameter counts, channel ranking, temperature,
preprocessing, and the feature-map grid's click mapping."""
import numpy as np
import pytest
import torch
from PIL import Image

from core import probability, render, vision
from core.convolution import features, vision_models
from core.convolution import network_figures as feature_render
from core.data import load_sample


@pytest.fixture(scope="module")
def cnn():
    return vision_models.load("cnn")


@pytest.fixture(scope="module")
def resnet():
    return vision_models.torchvision_model("resnet18", pretrained=False)  # random weights: no download


def sample(i=0):
    s = load_sample("test")
    return Image.fromarray(s.images[i]), int(s.labels[i])


def test_cnn_layers_shapes_and_params(cnn):
    layers = {layer.name: layer for layer in cnn.layers}
    assert [n for n in layers if n.startswith("conv")] == [f"conv{i}" for i in range(1, 7)]
    assert layers["conv1"].shape == (32, 28, 28)
    assert layers["pool1"].shape == (32, 14, 14)
    assert layers["relu4"].shape == (64, 14, 14)
    assert layers["conv6"].shape == (128, 7, 7)
    assert "bn1" not in layers and "gap" not in layers and "fc" not in layers  # not conv/relu/pool, or 1×1
    # n·c·k·k without a bias (BatchNorm follows each conv): the formula and the tensors agree.
    assert layers["conv1"].params == 32 * 1 * 3 * 3 == 288
    assert layers["conv3"].params == 64 * 32 * 3 * 3
    assert layers["relu3"].params == 0 and layers["relu3"].conv == "conv3"
    assert layers["pool2"].conv == "conv4"


def test_cnn_extraction_matches_the_model(cnn):
    img, _ = sample()
    acts = features.run(cnn, img)
    assert acts.maps["conv1"].shape == (32, 28, 28) and acts.maps["relu6"].shape == (128, 7, 7)
    with torch.no_grad():
        x = acts.input
        net = cnn.module
        direct = net.conv1(net.normalize(x))[0].numpy()
        logits = net(x)[0].numpy()
    np.testing.assert_allclose(acts.maps["conv1"], direct, atol=1e-5)  # not overwritten by the in-place ReLU
    np.testing.assert_allclose(acts.logits, logits, atol=1e-5)
    assert acts.maps["relu1"].min() >= 0 and acts.maps["conv1"].min() < 0


def test_resnet18_random_weights_layers_and_shapes(resnet):
    layers = {layer.name: layer for layer in resnet.layers}
    assert layers["conv1"].shape == (64, 112, 112)
    assert layers["conv1"].params == 64 * 3 * 7 * 7
    assert layers["maxpool"].shape == (64, 56, 56)
    assert layers["layer2.0.conv1"].shape == (128, 28, 28)
    assert layers["layer4.1.add"].shape == (512, 7, 7) and layers["layer4.1.add"].kind == "block"
    assert layers["layer4.1.relu_1"].conv == "layer4.1.conv2"
    assert not any("downsample" in n for n in layers)
    img, _ = sample()
    acts = features.run(resnet, img)
    assert acts.input.shape == (1, 3, 224, 224)
    assert acts.maps["layer3.1.relu_1"].shape == (256, 14, 14)
    assert acts.logits.shape == (1000,)


def test_channel_ranking_and_picking():
    maps = np.zeros((4, 2, 2))
    maps[1] += 3
    maps[2] += 1
    maps[3] -= 1
    means, order = features.channel_ranking(maps)
    np.testing.assert_allclose(means, [0, 3, 1, -1])
    assert order.tolist() == [1, 2, 0, 3]
    assert features.pick_channels(order, 2) == [1, 2]
    assert features.pick_channels(order, 99) == [1, 2, 0, 3]
    assert features.pick_channels(order, 2, [3, 0, 3]) == [3, 0]
    with pytest.raises(ValueError, match="channels 0 to 3"):
        features.pick_channels(order, 2, [4])
    assert features.parse_channels("3, 1 2") == [3, 1, 2]
    with pytest.raises(ValueError, match="whole numbers"):
        features.parse_channels("a, 2")


def test_temperature():
    z = np.array([2.0, 1.0, 0.0, -1.0])
    np.testing.assert_allclose(probability.softmax(z), np.exp(z) / np.exp(z).sum())
    hot, cold = probability.softmax(z, 10.0), probability.softmax(z, 0.1)
    assert hot.sum() == pytest.approx(1) and cold.sum() == pytest.approx(1)
    assert np.argmax(hot) == np.argmax(cold) == 0          # the ranking never changes
    assert cold[0] > 0.9999                                # towards one-hot
    assert hot.max() - hot.min() < 0.3                     # towards uniform
    entropies = [probability.entropy(probability.softmax(z, t)) for t in (0.5, 1, 2, 4)]
    assert entropies == sorted(entropies)
    assert probability.entropy(probability.softmax(z, 1e6)) == pytest.approx(np.log(4), abs=1e-6)
    np.testing.assert_allclose(probability.softmax(z * 3, 3.0), probability.softmax(z))
    for bad in (0, -1, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="temperature"):
            probability.softmax(z, bad)


def test_fashion_preprocessing_inverts_light_backgrounds():
    dark_on_light = Image.new("RGB", (56, 40), "white")
    dark_on_light.paste((0, 0, 0), (20, 10, 36, 30))
    x, seen, steps = vision.fashion_preprocess(dark_on_light)
    assert x.shape == (1, 1, 28, 28) and seen.size == (28, 28)
    assert "inverted" in steps and "padded" in steps
    a = x[0, 0].numpy()
    assert a[0, 0] == 0 and a[14, 14] > 0.9  # light garment on black, as in Fashion-MNIST
    img, _ = sample()
    x, _, steps = vision.fashion_preprocess(img)
    assert "inverted" not in steps and "resized" not in steps
    np.testing.assert_allclose(x[0, 0].numpy(), np.asarray(img) / 255, atol=1e-6)


def test_torchvision_preprocessing_is_the_weights_transform(resnet):
    img = Image.fromarray(np.random.default_rng(0).integers(0, 256, (300, 400, 3), dtype=np.uint8))
    x, seen, steps = resnet.preprocess(img)
    import torchvision
    expected = torchvision.models.ResNet18_Weights.DEFAULT.transforms()(img)
    torch.testing.assert_close(x[0], expected)
    assert seen.size == (224, 224) and "centre crop 224" in steps


def test_feature_grid_scales_and_click_mapping():
    rng = np.random.default_rng(1)
    maps = np.abs(rng.normal(size=(20, 6, 6)))
    maps[3] *= 10
    means, order = features.channel_ranking(maps)
    shown = features.pick_channels(order, 12)
    grid = feature_render.feature_grid(maps, shown, means, "relu1", "layer", 50.0, "top 12")
    assert grid.value_range == (0.0, pytest.approx(maps.max()))
    assert "per layer" in grid.colour_note
    assert feature_render.feature_grid(maps, shown, means, "relu1", "global", 50.0, "x").value_range == (0, 50.0)
    # The centre of tile i is channel shown[i]; the header and the gaps are nothing.
    step_x, step_y = grid.cell + render.PAD, grid.cell + render.PAD + render.LABEL_HEIGHT
    for i in (0, 5, 11):
        r, c = divmod(i, grid.columns)
        x = render.PAD + c * step_x + grid.cell // 2
        y = grid.top + render.PAD + r * step_y + grid.cell // 2
        assert render.tile_at(grid, x, y) == shown[i]
    assert render.tile_at(grid, 10, 2) is None
    with pytest.raises(ValueError, match="normalize"):
        feature_render.feature_grid(maps, shown, means, "relu1", "unit", 1.0, "x")


def test_feature_grid_signed_layer_is_diverging():
    maps = np.stack([np.full((4, 4), -2.0), np.full((4, 4), 1.0)])
    means, order = features.channel_ranking(maps)
    grid = feature_render.feature_grid(maps, [1, 0], means, "conv1", "layer", 2.0, "x")
    assert grid.value_range == (-2.0, 2.0) and "Diverging" in grid.colour_note
    assert feature_render.unit(np.array([0.0]), 2.0, True)[0] == 0.5


@pytest.mark.parametrize("name", vision_models.TORCHVISION)
def test_every_torchvision_choice_traces_and_explains_with_random_weights(name):
    from core.convolution import gradcam
    vm = vision_models.torchvision_model(name, pretrained=False)
    layers = {layer.name: layer for layer in vm.layers}
    first = layers[vm.default_layer]
    assert first.kind.startswith("conv")
    # The first conv reads RGB, so its filters are drawn in colour on one shared scale.
    weights = features.kernels(vm, first)
    assert weights.shape[0] == first.shape[0] and weights.shape[1] == 3
    fig = feature_render.kernel_figure(weights, list(range(8)), first.name)
    assert fig.data[0].type == "image" and "RGB" in fig.layout.title.text
    # Grad-CAM's layer is a real module whose maps still have space.
    img, _ = sample()
    acts = features.run(vm, img)
    cam = gradcam.for_model(vm, acts.input, target=int(acts.logits.argmax()))
    assert cam.heatmap.shape == (224, 224) and 0 <= cam.heatmap.min() and cam.heatmap.max() <= 1
    assert min(cam.coarse.shape) >= 6


def test_every_view_of_a_new_image_reads_one_forward_pass(cnn, monkeypatch):
    from explorers import convolution_network as net
    calls = []
    extractor = cnn.extractor
    monkeypatch.setattr(cnn, "extractor", lambda x: calls.append(x) or extractor(x))
    img = Image.fromarray(np.random.default_rng(7).integers(0, 256, (28, 28), dtype=np.uint8))  # never seen before
    views = net.section_views(img, "cnn", "relu3", "top", 8, "", "layer", 2.0, False, net.PREDICTED, 0.5)
    assert len(calls) == 1  # maps, channel, overview and prediction share the run
    assert views.channel == features.channel_ranking(features.run(cnn, img).maps["relu3"])[1][0]
    assert len(calls) == 1 and features.run(cnn, img.copy()) is features.run(cnn, img)  # same pixels: cached
    features.run(cnn, img.transpose(Image.Transpose.FLIP_LEFT_RIGHT))
    assert len(calls) == 2
    assert features.run(cnn, img).maps["relu3"].flags.writeable is False  # shared between requests: read-only
