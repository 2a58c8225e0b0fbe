"""Grad-CAM on hand-built nets whose answer is known in closed form."""
from collections import OrderedDict

import numpy as np
import pytest
import torch
from torch import nn

from core.convolution import features, gradcam, vision_models
from core.data import load_sample


def split_net(w_class0=(2.0, -1.0), w_class1=(-1.0, 2.0)) -> nn.Sequential:
    """8×8 input -> maps A0 = ReLU(x), A1 = ReLU(-x) -> 2×2 max pool -> global average -> linear.

    For this net Grad-CAM has a closed form: α_k = w_ck / (h·w) and L = ReLU(Σ_k w_ck A_k) / (h·w)."""
    conv = nn.Conv2d(1, 2, 1, bias=False)
    conv.weight.data = torch.tensor([1.0, -1.0]).view(2, 1, 1, 1)
    fc = nn.Linear(2, 2, bias=False)
    fc.weight.data = torch.tensor([w_class0, w_class1])
    return nn.Sequential(OrderedDict([("conv", conv), ("relu", nn.ReLU()), ("pool", nn.MaxPool2d(2)),
                                      ("gap", nn.AdaptiveAvgPool2d(1)), ("flat", nn.Flatten()), ("fc", fc)])).eval()


def left_plus_right_minus() -> torch.Tensor:
    x = -torch.ones(1, 1, 8, 8)
    x[..., :4] = 1.0
    return x


def test_evidence_for_each_class_sits_where_its_channel_fires():
    net = split_net()
    x = left_plus_right_minus()
    coarse, heat = gradcam.grad_cam(net, net.pool, x, target=0)
    # Class 0 rewards A0 = ReLU(x), which is 1 on the left: coarse map 1 on the left half, 0 on the right.
    np.testing.assert_allclose(coarse, np.array([[2, 2, 0, 0]] * 4) / 16, atol=1e-7)
    assert heat.shape == (8, 8) and heat.max() == pytest.approx(1.0)
    assert heat[:, :3].min() > 0.7 and heat[:, 5:].max() < 0.3
    _, heat1 = gradcam.grad_cam(net, net.pool, x, target=1)
    assert heat1[:, 5:].min() > 0.7 and heat1[:, :3].max() < 0.3


def test_matches_the_closed_form_on_random_inputs():
    net = split_net((1.5, -0.5), (-0.3, 0.8))
    x = torch.randn(1, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        a = net.pool(net.relu(net.conv(x)))[0].numpy()
    for target, w in ((0, (1.5, -0.5)), (1, (-0.3, 0.8))):
        coarse, _ = gradcam.grad_cam(net, net.pool, x, target)
        expected = np.maximum(w[0] * a[0] + w[1] * a[1], 0) / a[0].size
        np.testing.assert_allclose(coarse, expected, atol=1e-6)


def test_no_positive_evidence_gives_a_zero_map():
    net = split_net((-1.0, -1.0), (1.0, 1.0))
    coarse, heat = gradcam.grad_cam(net, net.pool, left_plus_right_minus(), target=0)
    assert coarse.max() == 0 and heat.max() == 0


def test_bundled_cnn_gradcam_and_shared_model_untouched():
    vm = vision_models.load("cnn")
    s = load_sample("test")
    from PIL import Image
    acts = features.run(vm, Image.fromarray(s.images[0]))
    before = {k: v.clone() for k, v in vm.module.state_dict().items()}
    cam = gradcam.for_model(vm, acts.input, int(s.labels[0]))
    assert cam.layer == "relu6" and cam.coarse.shape == (7, 7) and cam.heatmap.shape == (28, 28)
    assert cam.heatmap.min() >= 0 and cam.heatmap.max() == pytest.approx(1.0) and cam.peak > 0
    assert not vm.module.training and all(torch.equal(before[k], v) for k, v in vm.module.state_dict().items())
    assert not any(m._forward_hooks for m in vm.module.modules())  # captum removed its hooks
    again = features.run(vm, Image.fromarray(s.images[0]))
    np.testing.assert_allclose(again.logits, acts.logits)
