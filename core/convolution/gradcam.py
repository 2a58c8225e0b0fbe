"""Grad-CAM (Selvaraju et al., 2017) through captum's LayerGradCam: where in the image the evidence for one class
comes from, as seen by one convolutional layer.

For class c and the layer's maps A_k, captum computes α_k = mean over (i, j) of ∂y_c/∂A_k[i, j], then
ReLU(Σ_k α_k A_k). We upsample that bilinearly to the input size and divide by its maximum, so 1 is the
strongest evidence and 0 is none.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from core.convolution.vision_models import GRADCAM_LAYERS, ConvNet


@dataclass(frozen=True)
class GradCam:
    target: int
    layer: str
    heatmap: np.ndarray  # [H, W] at the input's size, in [0, 1]
    coarse: np.ndarray   # [h, w] at the layer's size, before upsampling and scaling
    peak: float          # the largest value of `coarse`: 0 means no positive evidence anywhere


def grad_cam(model: nn.Module, layer: nn.Module, x: torch.Tensor, target: int) -> tuple[np.ndarray, np.ndarray]:
    """(coarse map [h, w], heatmap [H, W] in [0, 1]) for logit `target` of `model` on one input x [1, C, H, W].

    Registers hooks on `layer` for the duration of the call: callers sharing `model` must hold its lock."""
    from captum.attr import LayerAttribution, LayerGradCam  # ~1 s to import: paid on first use, not at start-up
    cam = LayerGradCam(model, layer).attribute(x, target=target, relu_attributions=True).detach()
    up = LayerAttribution.interpolate(cam, tuple(x.shape[-2:]), interpolate_mode="bilinear")
    coarse, up = cam[0, 0].double().cpu().numpy(), up[0, 0].double().cpu().numpy().clip(min=0)
    peak = up.max()
    return coarse, (up / peak if peak > 0 else np.zeros_like(up))


def for_model(vm: ConvNet, x: torch.Tensor, target: int) -> GradCam:
    name = GRADCAM_LAYERS[vm.name]
    with vm.lock:
        coarse, heat = grad_cam(vm.module, vm.module.get_submodule(name), x, target)
    return GradCam(target, name, heat, coarse, float(coarse.max(initial=0.0)))
