"""core.image_attention: the attention weights captured from torchvision's VisionTransformer against a manual
computation (random weights, nothing downloaded), the bundled vit's own weights, patch maps and clicks, and the
offline fallback for vit_b_16."""
import numpy as np
import pytest
import torch
import torchvision
from PIL import Image

from core import probability
from core.attention import image as ia
from core.attention import maths as att
from core.data import load_sample


@pytest.fixture(scope="module")
def small_vit():
    torch.manual_seed(0)
    return torchvision.models.VisionTransformer(image_size=32, patch_size=8, num_layers=2, num_heads=4,
                                                hidden_dim=32, mlp_dim=64, num_classes=5).eval()


def test_captured_weights_match_a_manual_computation(small_vit):
    x = torch.randn(2, 3, 32, 32)
    block = small_vit.encoder.layers[0]
    with att.record_outputs({"ln_1": block.ln_1}) as normed, torch.no_grad():
        logits, weights = ia.torchvision_attentions(small_vit, x)
    assert weights.shape == (2, 2, 4, 17, 17)  # layers, batch, heads, 16 patches + CLS
    # Layer 0 by hand: the MHA's packed in-projection gives Q and K, then softmax(Q Kᵀ / √d_k) per head.
    mha = block.self_attention
    d = mha.embed_dim
    h = normed["ln_1"]
    q = h @ mha.in_proj_weight[:d].T + mha.in_proj_bias[:d]
    k = h @ mha.in_proj_weight[d:2 * d].T + mha.in_proj_bias[d:2 * d]
    for b in range(2):
        qh, kh = att.split_heads(q[b], 4), att.split_heads(k[b], 4)
        manual = np.stack([probability.softmax(att.attention_scores(qh[i], kh[i])) for i in range(4)])
        np.testing.assert_allclose(weights[0, b].double().numpy(), manual, atol=1e-5)
    with torch.no_grad():
        torch.testing.assert_close(logits, small_vit(x), atol=1e-5, rtol=1e-5)  # capturing changes nothing
    assert not mha._forward_hooks and not mha._forward_pre_hooks


def test_hooks_are_removed_after_an_error(small_vit):
    mha = small_vit.encoder.layers[0].self_attention
    with pytest.raises(RuntimeError, match="boom"), ia.mha_weights([mha]) as weights, torch.no_grad():
        small_vit(torch.randn(1, 3, 32, 32))
        assert len(weights) == 1 and weights[0].shape == (1, 4, 17, 17)
        raise RuntimeError("boom")
    assert not mha._forward_hooks and not mha._forward_pre_hooks


def test_bundled_vit_run():
    vm = ia.load("vit")
    img = Image.fromarray(load_sample("test").images[0])
    r = ia.run(vm, img)
    assert (r.num_layers, r.num_heads, r.num_tokens, r.grid) == (6, 4, 17, (4, 4))
    x, _, _ = vm.preprocess(img)
    with torch.no_grad():
        _, own = vm.module(x, return_attention=True)
    np.testing.assert_allclose(r.attentions, own[:, 0].double().numpy())
    np.testing.assert_allclose(r.probabilities.sum(), 1.0)
    cls = ia.cls_map(r, -1, -1)
    a = att.head_average(r.attentions[-1])
    np.testing.assert_allclose(cls.sum(), 1 - a[0, 0])
    np.testing.assert_allclose(ia.patch_map(r, 2, 1, 5), r.attentions[2, 1, 6, 1:].reshape(4, 4))
    np.testing.assert_allclose(ia.rollout_map(r), att.attention_rollout(r.attentions)[0, 1:].reshape(4, 4))


def test_random_vit_b_16_has_a_14x14_grid():
    vm = ia.torchvision_vit(pretrained=False)
    r = ia.run(vm, Image.new("RGB", (300, 200), "white"))
    assert r.attentions.shape == (12, 12, 197, 197) and r.grid == (14, 14) and len(vm.labels) == 1000
    np.testing.assert_allclose(r.attentions.sum(-1), 1.0, atol=1e-5)


def test_patch_at_maps_pixels_to_row_major_patches():
    assert ia.patch_at((336, 336), (4, 4), 0, 0) == 0
    assert ia.patch_at((336, 336), (4, 4), 335, 0) == 3
    assert ia.patch_at((336, 336), (4, 4), 90, 170) == 2 * 4 + 1
    assert ia.patch_at((336, 336), (4, 4), 336, 10) is None


def test_vit_b_16_offline_falls_back_in_one_line(monkeypatch, tmp_path):
    monkeypatch.setenv("GLASSBOX_OFFLINE", "1")
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    ia.clear_cache()
    try:
        vm, note = ia.resolve("vit_b_16")
    finally:
        ia.clear_cache()
    assert vm.name == "vit"
    assert "vit_b_16's ImageNet weights are not in the torch hub cache" in note and "GLASSBOX_OFFLINE=1" in note
    assert "\n" not in note
    with pytest.raises(ValueError, match="Unknown model 'vit_l_32'"):
        ia.load("vit_l_32")
