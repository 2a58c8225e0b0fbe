"""The diffusion_schedule, diffusion_forward and diffusion_sample endpoints: what the forward and reverse views
show, in numbers and PNG data URLs (the 2-D toy's diffusion_toy is in explorers/diffusion/toy.py)."""
from __future__ import annotations

import numpy as np
from gradio.data_classes import FileData

from core.diffusion import figures, record, sampling, schedule
from core.diffusion.hub_unets import open_denoiser
from core.render import to_data_url
from core.uploads import open_image
from core.validate import as_int
from explorers.common import api, uploaded_path, user_errors
from explorers.diffusion.forward import noised


@user_errors
def diffusion_schedule(kind: str = "linear", T: int = schedule.BUNDLED_T,
                       beta_start: float = schedule.BUNDLED_BETA_START,
                       beta_end: float = schedule.BUNDLED_BETA_END) -> dict:
    """A noise schedule: β_t, ᾱ_t = Π(1 − β_s) and SNR(t) = ᾱ_t / (1 − ᾱ_t) for t = 1 … T.

    Parameters:
        kind: linear, scaled_linear (√β linear) or cosine (Nichol & Dhariwal; set by T alone, the betas are ignored)
        T: the number of diffusion steps, 2 to 10000
        beta_start: β_1, with 0 < beta_start < beta_end < 1
        beta_end: β_T

    Returns:
        betas, alpha_bar and snr (T values each, for t = 1 … T), and snr_cross_t, the first t with SNR < 1 (null
        if SNR never falls below 1).
    """
    s = schedule.make(kind, T, beta_start, beta_end)
    return {"kind": s.kind, "T": s.T, "betas": s.betas.tolist(), "alpha_bar": s.alpha_bar.tolist(),
            "snr": s.snr.tolist(), "snr_cross_t": s.snr_cross_t}


@user_errors
def diffusion_forward(image: FileData, t: int, seed: int = 0, kind: str = "linear") -> dict:
    """The forward process in closed form: x_t = √ᾱ_t·x_0 + √(1 − ᾱ_t)·ε, for one fixed ε drawn from the seed.

    Parameters:
        image: the image x_0 (any format; shown at most 256 pixels a side, pixels mapped to [-1, 1])
        t: the step, 0 (the image itself) to 1000
        seed: the seed of ε (the same seed gives the same noise at every t)
        kind: the schedule with T = 1000: linear (1e-4 to 0.02, the bundled model's), scaled_linear or cosine

    Returns:
        image (x_t as a PNG data URL, clipped to [-1, 1]), t, signal_coef (√ᾱ_t) and noise_coef (√(1 − ᾱ_t)).
    """
    x_t, (signal, noise), t = noised(open_image(uploaded_path(image)), t, seed, kind)
    return {"t": t, "image": to_data_url(figures.picture(x_t, cell=x_t.shape[2])), "signal_coef": signal,
            "noise_coef": noise}


def strip_url(frames: list, labels: list[str]) -> str:
    return to_data_url(figures.filmstrip(frames, labels, columns=min(10, len(frames))))


@user_errors
def diffusion_sample(label: int | None = None, guidance: float = 3.0, scheduler: str = "ddim", steps: int = 50,
                     seed: int = 0, record_every: int = 1, eta: float = 0.0, thresholding: bool = False,
                     rescale: float = 0.0, model: str = "default") -> dict:
    """Sample one image with a diffusers scheduler: by default from the bundled class-conditional Fashion-MNIST UNet.

    Parameters:
        label: the class 0-9 (0 T-shirt/top … 9 Ankle boot), or null for the unconditional model
        guidance: classifier-free guidance w, 0 to 10 (0 unconditional, 1 plain conditional; 3 is the measured best)
        scheduler: ddpm, ddim, dpm++ (DPM-Solver++ 2M), euler, euler-a (Euler ancestral), heun or unipc
        steps: reverse steps, 1 to 1000
        seed: the seed of x_T (and of the scheduler's own noise); the same seed gives the same image
        record_every: put every n-th step in the frame strips, 1 to 1000 (the last is always in; see the result's)
        eta: DDIM's η, 0 (deterministic) to 1 (as stochastic as DDPM); other schedulers ignore it
        thresholding: dynamic thresholding of x̂₀ (Imagen; ddpm, ddim, dpm++ and unipc only)
        rescale: guidance rescale φ, 0 (off) to 1 (Lin et al. 2023)
        model: "default" (the bundled UNet) or the Hugging Face id of a diffusers UNet2DModel pipeline

    Returns:
        timesteps (the diffusers timestep of every recorded step), x_t_strip and x0_strip (PNG data URLs of the
        recorded steps' x_t and predicted x̂₀), x0_from_scheduler (false where x̂₀ is computed from ε̂), image (the
        final image, PNG data URL), class_probabilities (the bundled CNN's, of the final image; null for a model
        whose images are not 28x28 grey), seconds (sampling), record_every (the steps between frames kept: the
        one asked for, or more where the run recorded fewer steps), and note (null, or a line on the model and on
        a record_every raised).
    """
    denoiser, note = open_denoiser(model)
    settings = sampling.check(denoiser, label, guidance, scheduler, steps, seed, eta, thresholding, rescale)
    asked = as_int(record_every, "record_every", 1, 1000)
    rec = record.recorded(denoiser, settings)
    every = -(-asked // rec.every) * rec.every  # a multiple of the steps the run recorded, at least the one asked
    keep = [i for i, step in enumerate(rec.steps) if (step - 1) % every == 0 or i == len(rec) - 1]
    if every != asked:
        capped = (f"record_every={asked} became {every}: a run records at most {record.MAX_FRAMES:,} steps, so this "
                  f"one kept every {rec.every}.")
        note = f"{note} {capped}" if note else capped
    labels = [str(rec.timesteps[i]) for i in keep]
    probabilities = record.classify(denoiser, rec.final[None])
    return {"timesteps": [rec.timesteps[i] for i in keep],
            "x_t_strip": strip_url([rec.x_t[i] for i in keep], labels),
            "x0_strip": strip_url([rec.x0[i] for i in keep], labels), "x0_from_scheduler": rec.x0_from_scheduler,
            "image": to_data_url(figures.picture(rec.final)),
            "class_probabilities": None if probabilities is None else np.round(probabilities[0], 6).tolist(),
            "seconds": round(rec.seconds, 4), "record_every": every, "note": note}


def register() -> None:
    api(diffusion_schedule, "diffusion_schedule", nullable=("snr_cross_t",))
    api(diffusion_forward, "diffusion_forward", example={"t": 250})
    api(diffusion_sample, "diffusion_sample", nullable=("class_probabilities", "note"))
