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
    means, _order = features.channel_ranking(maps)
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
    fig = feature_render.kernel_panels(weights, list(range(8)), first.name)
    assert "RGB" in fig.title and [p.title for p in fig.panels] == [f"#{c}" for c in range(8)]
    # each panel is one filter's three input channels, as (kh, kw, 3), on one scale: ±the largest |weight| shown
    peak = float(np.abs(weights[:8]).max())
    assert all(p.cmap is None and (p.lo, p.hi) == (-peak, peak) for p in fig.panels)
    np.testing.assert_array_equal(fig.panels[3].z, weights[3].transpose(1, 2, 0))
    # Grad-CAM's layer is a real module whose maps still have space.
    img, _ = sample()
    acts = features.run(vm, img)
    cam = gradcam.for_model(vm, acts.input, target=int(acts.logits.argmax()))
    assert cam.heatmap.shape == (224, 224) and cam.heatmap.min() >= 0 and cam.heatmap.max() <= 1
    assert min(cam.coarse.shape) >= 6


def test_every_view_of_a_new_image_reads_one_forward_pass(cnn, monkeypatch):
    from explorers.convolution import network as net
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


def test_a_lifted_pen_makes_the_drawing_the_input_and_an_empty_pad_changes_nothing(cnn):
    import gradio as gr

    from explorers.convolution import network as net
    bar = [[0 if 11 <= c < 17 and 3 <= r < 25 else 255 for c in range(28)] for r in range(28)]
    settings = ("cnn", "relu3", "top", 8, "", "layer", 1.0, False, net.PREDICTED, 0.5)
    drawn = net.drawn_ui({"pixels": bar}, *settings)
    np.testing.assert_array_equal(np.asarray(drawn.input), np.asarray(bar, dtype=np.uint8))
    assert drawn.input_note.startswith("Your drawing")
    # every view is the one a click on "Use the drawing" gives: the section's views of that picture
    expected = net.section_views(net.drawing_image(bar), *settings)
    assert drawn.prediction == expected.prediction and drawn.grid_note == expected.grid_note
    blank = [[255] * 28 for _ in range(28)]
    for empty in (None, {"pixels": blank}):
        assert list(net.drawn_ui(empty, *settings)) == [gr.skip()] * len(net.DrawnViews._fields)


# ---------------------------------------------------------------- one cell's arithmetic (the clickable overview)


@pytest.fixture(scope="module")
def cnn_run(cnn):
    img, _ = sample(3)
    return features.run(cnn, img)


def test_a_conv_cell_is_its_kernel_times_the_window_plus_bias(cnn, cnn_run):
    layer = cnn.layer("conv3")
    maps = cnn_run.maps["conv3"]
    for row, col in ((0, 0), (5, 9), (13, 13)):  # the corners read zero padding
        c = features.cell(cnn, cnn_run, layer, 9, row, col)
        assert c.operation == "conv" and c.window.shape == (32, 3, 3) and c.kernel.shape == (32, 3, 3)
        assert c.input_channels == list(range(32))
        np.testing.assert_allclose(c.terms, (c.kernel * c.window).sum(axis=(1, 2)))
        assert c.conv_sum == pytest.approx(c.terms.sum() + c.bias)
        assert c.recorded == float(maps[9, row, col])
        assert c.computed == pytest.approx(c.recorded, rel=1e-4, abs=1e-5)
    corner = features.cell(cnn, cnn_run, layer, 9, 0, 0)
    assert (corner.window[:, 0, :] == 0).all() and (corner.window[:, :, 0] == 0).all()  # the padding
    # The window is the module's real input: conv3 reads pool1's output.
    np.testing.assert_allclose(features.module_input(cnn, cnn_run, layer), cnn_run.maps["pool1"], rtol=1e-6)


def test_relu_and_max_pool_cells(cnn, cnn_run):
    relu = features.cell(cnn, cnn_run, cnn.layer("relu3"), 4, 6, 2)
    x = float(relu.window[0, 0, 0])
    assert relu.operation == "relu" and relu.computed == max(0.0, x) == pytest.approx(relu.recorded, abs=1e-6)
    pool = features.cell(cnn, cnn_run, cnn.layer("pool1"), 2, 3, 4)
    assert pool.operation == "max pool" and pool.window.shape == (1, 2, 2)
    np.testing.assert_allclose(pool.window[0], cnn_run.maps["relu2"][2, 6:8, 8:10])
    assert pool.computed == pytest.approx(pool.recorded)


def test_cells_of_torchvision_blocks_and_a_second_call_of_a_module(resnet):
    img, _ = sample(1)
    acts = features.run(resnet, img)
    # resnet's block calls its relu twice; FX names the second call "relu_1", whose input is the residual sum.
    second = features.cell(resnet, acts, resnet.layer("layer1.0.relu_1"), 3, 10, 20)
    assert second.computed == pytest.approx(second.recorded, abs=1e-5)
    np.testing.assert_allclose(features.module_input(resnet, acts, resnet.layer("layer1.0.relu_1")),
                               acts.maps["layer1.0.add"], rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="residual sum"):
        features.cell(resnet, acts, resnet.layer("layer1.0.add"), 0, 0, 0)
    with pytest.raises(ValueError, match="no cell"):
        features.cell(resnet, acts, resnet.layer("conv1"), 64, 0, 0)
    mobile = vision_models.torchvision_model("mobilenet_v3_small", pretrained=False)
    acts = features.run(mobile, img)
    block = mobile.layer("features.0")
    assert block.kind == "conv block"
    c = features.cell(mobile, acts, block, 5, 30, 40)  # conv, batch norm and hardswish on the one value
    assert c.operation == "conv block" and c.window.shape == (3, 3, 3)
    assert c.computed == pytest.approx(c.recorded, rel=1e-4, abs=1e-5)


def test_a_click_on_the_overview_or_a_map_names_a_layer_or_a_cell():
    maps = np.random.default_rng(2).normal(size=(10, 8, 8))
    reps = [(f"layer{i}\n10x8x8\n0 params\nshown: #0", maps[0]) for i in range(11)]
    strip = feature_render.layer_strip(reps)
    slot_h = feature_render.STRIP_PX + feature_render.STRIP_TEXT_H + render.PAD
    for i in (0, 7, 8, 10):
        r, c = divmod(i, feature_render.STRIP_COLUMNS)
        x = render.PAD + c * feature_render.STRIP_SLOT_W + feature_render.STRIP_PX // 2
        y = feature_render.STRIP_TOP + r * slot_h + feature_render.STRIP_PX // 2
        assert y < strip.height and feature_render.strip_at(len(reps), x, y) == i
    assert feature_render.strip_at(len(reps), 20, 10) is None  # the legend
    assert feature_render.strip_at(len(reps), render.PAD + 3 * feature_render.STRIP_SLOT_W + 5,
                                   feature_render.STRIP_TOP + slot_h + 5) is None  # past the last layer
    means, _order = features.channel_ranking(np.abs(maps))
    grid = feature_render.feature_grid(np.abs(maps), [4, 1, 7], means, "relu1", "layer", 1.0, "x")
    x0, y0 = render.PAD, grid.top + render.PAD
    assert render.tile_offset(grid, x0, y0) == (0.0, 0.0)
    down, across = render.tile_offset(grid, x0 + grid.cell * 0.75, y0 + grid.cell * 0.25)
    assert int(down * 8) == 2 and int(across * 8) == 6  # cell (2, 6) of an 8×8 map
    assert render.tile_offset(grid, x0 + 2, y0 + grid.cell + 2) is None  # the tile's label


def test_cached_text_draws_the_same_pixels_as_pillow():
    """render.text stamps a cached mask of the line; the picture is the one ImageDraw.text draws, in any colour,
    the first time and from the cache."""
    from PIL import ImageDraw
    for line, size, fill in (("conv3", 11, "#4b5563"), ("64x14x14 shown: #12", 13, "#111827"), ("-max", 11, "red")):
        direct = Image.new("RGB", (260, 30), "white")
        ImageDraw.Draw(direct).text((5, 7), line, fill=fill, font=render.font(size))
        assert np.asarray(direct).min() < 128  # the line has ink
        for _ in range(2):
            stamped = Image.new("RGB", (260, 30), "white")
            render.text(stamped, (5, 7), line, size, fill)
            np.testing.assert_array_equal(np.asarray(stamped), np.asarray(direct))


def test_the_panels_widget_gets_every_array_packed_and_refuses_a_colour_map_it_lacks():
    """explorers.widgets.panels_value: the values as float32 bytes, and a colour map the widget was not sent (in a
    panel or a colour bar) refused by name rather than drawn black."""
    import base64

    from explorers.widgets import panels_value
    z = np.arange(6, dtype=np.float64).reshape(2, 3) - 2.5
    figure = render.Panels("t", "s", (render.Panel("a", z, "RdBu_r", -2.5, 2.5, "w"),), 0,
                           (render.Scale("RdBu_r", -2.5, 2.5, "weight"),))
    value = panels_value(figure)
    packed = value["panels"][0]["z"]
    assert packed["shape"] == [2, 3] and packed["dtype"] == "float32"
    np.testing.assert_array_equal(np.frombuffer(base64.b64decode(packed["data"]), np.float32).reshape(2, 3), z)
    for bad in (render.Panels("t", "", (render.Panel("a", z, "Jet"),)),
                render.Panels("t", "", (), 0, (render.Scale("Jet", 0, 1, "x"),))):
        with pytest.raises(ValueError, match="no colour map 'Jet'"):
            panels_value(bad)


def test_the_overview_ends_with_the_classifier_and_the_softmax_of_the_model(cnn):
    """The head's numbers are the model's own: the logits F.linear gives on the pooled relu6 maps, and their
    softmax; the overview draws two more slots after the last layer's, where a click opens no layer."""
    img, _ = sample(3)
    acts = features.run(cnn, img)
    h = features.head(cnn, acts)
    fc = cnn.module.fc
    pooled = torch.tensor(acts.maps["relu6"]).float().mean(dim=(1, 2))
    expected = torch.nn.functional.linear(pooled, fc.weight, fc.bias).double().numpy()
    assert h.name == "fc" and h.in_features == 128 and h.classes == 10 and h.params == 128 * 10 + 10
    assert h.labels == list(cnn.labels)
    np.testing.assert_allclose(h.logits, expected, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(h.probs, probability.softmax(expected), rtol=1e-4, atol=1e-6)
    reps = features.representatives(cnn, acts)
    strip = feature_render.layer_strip(reps, h)
    assert strip.size == feature_render.layer_strip(reps).size  # 14 + 2 slots still fill two rows of 8
    x, y = feature_render._slot_origin(len(reps) + 1)
    assert feature_render.strip_at(len(cnn.layers), x + 5, y + 5) is None
    assert strip.crop((x, y, x + feature_render.STRIP_SLOT_W, y + feature_render.STRIP_PX)).getcolors(2 ** 16)


def test_a_grid_label_fits_its_tile_without_a_cut_number():
    """The 128-map grid's 64 px tiles cut "#116 m=-0.12" to "#116 m=-0."; every label now fits whole, in one form
    for the whole grid."""
    means = np.zeros(128)
    means[[1, 41, 116]] = [-0.36, 0.0056, -0.1234]
    assert feature_render.tile_labels([1, 116], means, 96) == ["#1 m=-0.36", "#116 m=-0.12"]
    assert feature_render.tile_labels([1, 116], means, 64) == ["#1 -0.36", "#116 -0.12"]
    assert feature_render.tile_labels([1, 41, 116], means, 64) == ["#1 -0.36", "#41 0.0056", "#116 -0.12"]
    means[116] = -0.0567  # "#116 -0.057" is 11 characters: the whole grid takes two decimals
    assert feature_render.tile_labels([1, 41, 116], means, 64) == ["#1 -0.36", "#41 0.01", "#116 -0.06"]
    means[7] = -12345.0
    assert feature_render.tile_labels([7, 116], means, 64) == ["#7", "#116"]
    for cell in (64, 96):
        assert all(len(label) <= cell // render.LABEL_CHAR
                   for label in feature_render.tile_labels(list(range(128)), means, cell))
