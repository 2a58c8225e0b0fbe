"""core.diffusion: the bundled DDPM's schedule is the one it was trained with, the forward process is q(x_t | x_0),
guidance is the textbook mix, and every diffusers scheduler the app offers drives the bundled UNet to images of the
asked-for class."""
import numpy as np
import pytest
import torch

from core import metrics
from core.diffusion import sampling, schedule
from core.diffusion.denoisers import Denoiser, bundled
from core.diffusion.sampling import SCHEDULERS, Settings, guided_epsilon, make_scheduler
from core.models import ddpm_scheduler_config, load


def test_bundled_scheduler_config_is_the_training_schedule():
    config = ddpm_scheduler_config()
    expected = torch.cumprod(1 - torch.linspace(1e-4, 0.02, 1000, dtype=torch.float64), 0)
    for kind in SCHEDULERS:
        scheduler = make_scheduler(kind, config)
        assert scheduler.config.num_train_timesteps == 1000
        assert scheduler.config.prediction_type == "epsilon"
        torch.testing.assert_close(scheduler.alphas_cumprod.double(), expected, rtol=1e-5, atol=1e-7)


def test_unknown_scheduler_is_named_in_the_error():
    with pytest.raises(ValueError, match=r"Unknown scheduler 'lms'.*ddim"):
        make_scheduler("lms")


@pytest.mark.parametrize("t", [1, 500, 1000])
def test_alpha_bar_against_an_independent_float64_product(t):
    s = schedule.make("linear", 1000, 1e-4, 0.02)
    betas = [1e-4 + (0.02 - 1e-4) * i / 999 for i in range(1000)]
    expected = 1.0
    for b in betas[:t]:
        expected *= 1.0 - b
    # diffusers makes its betas in float32, so they carry float32's 6e-8 relative rounding; the product keeps it.
    assert s.alpha_bar[t - 1] == pytest.approx(expected, rel=2e-6)
    assert s.coefficients(t) == pytest.approx((expected ** 0.5, (1 - expected) ** 0.5), rel=2e-6)


def test_snr_crosses_one_where_alpha_bar_crosses_a_half():
    s = schedule.make()
    t = s.snr_cross_t
    assert s.alpha_bar[t - 1] < 0.5 <= s.alpha_bar[t - 2]
    assert schedule.make("cosine").snr_cross_t == pytest.approx(500, abs=10)  # cos² crosses ½ half way


def test_t_mismatch_leaves_signal_at_t_equals_100():
    # The same beta range over 100 steps: √ᾱ_T is still 0.6, so x_T is far from pure noise.
    assert schedule.make("linear", 100).coefficients(100)[0] > 0.5
    assert schedule.make("linear", 1000).coefficients(1000)[0] < 0.01


@pytest.mark.parametrize("kind,keeps", [("linear", "0.603"), ("scaled_linear", "0.764"), ("cosine", None)])
def test_the_t_mismatch_note_says_x_T_keeps_the_image_only_when_it_does(kind, keeps):
    # The cosine schedule is set by T alone: at T = 100 its √ᾱ_T is 0.0005, pure noise, not "keeps 0.000".
    from explorers.diffusion.forward import MISMATCH_T, schedule_text
    s = schedule.make_shown(kind, MISMATCH_T)
    text = schedule_text(s, kind, MISMATCH_T, mismatch=True)
    assert s.keeps_image == (keeps is not None)
    if keeps:
        assert f"x_T still keeps √ᾱ_T = {keeps} of the image" in text, text
    else:
        assert "still keeps" not in text and "0.000 " not in text and "x_T is still pure noise" in text, text
        assert "√ᾱ_T = 4.9e-04" in text, text
    assert "With T = " not in schedule_text(s, kind, MISMATCH_T, mismatch=False)


@pytest.mark.parametrize("bad,match", [({"beta_start": 0.02, "beta_end": 0.01}, "beta_start < beta_end"),
                                       ({"beta_end": 1.5}, "beta_end"), ({"T": 1}, "T"),
                                       ({"kind": "quadratic"}, "kind")])
def test_bad_schedules_are_refused(bad, match):
    with pytest.raises(ValueError, match=match):
        schedule.make(**bad)


def test_forward_closed_form_matches_iterating_the_one_step_kernel():
    # q(x_t | x_0) in one jump against x_t = √(1−β_t) x_{t−1} + √β_t z, step by step: the same mean and spread.
    s = schedule.make("linear", 200)
    x0 = torch.linspace(-1, 1, 4000, dtype=torch.float64)
    gen = torch.Generator().manual_seed(0)
    x = x0.clone()
    for beta in s.betas[:120]:
        x = (1 - beta) ** 0.5 * x + beta ** 0.5 * torch.randn(x.shape, generator=gen, dtype=torch.float64)
    jump = schedule.forward(x0, 120, s, schedule.noise_like(x0, 1))
    signal, noise = s.coefficients(120)
    for sample in (x, jump):
        residual = sample - signal * x0
        assert residual.mean().abs() < 4 * noise / 4000 ** 0.5
        assert residual.std().item() == pytest.approx(noise, rel=0.05)


def test_forward_at_t_zero_is_the_image_and_the_noise_is_fixed_by_the_seed():
    s, x0 = schedule.make(), torch.rand(1, 1, 8, 8) * 2 - 1
    torch.testing.assert_close(schedule.forward(x0, 0, s, schedule.noise_like(x0, 3)), x0.double())
    torch.testing.assert_close(schedule.noise_like(x0, 3), schedule.noise_like(x0, 3))
    assert not torch.equal(schedule.noise_like(x0, 3), schedule.noise_like(x0, 4))
    with pytest.raises(ValueError, match="t"):
        schedule.forward(x0, 1001, s, schedule.noise_like(x0, 3))


def test_forward_parts_make_every_t_of_the_forward_view():
    # What the browser is sent (x_0, ε, ᾱ) gives noised_image's x_t at any t by x_t = √ᾱ_t·x_0 + √(1 − ᾱ_t)·ε, and
    # the levels it draws are figures.levels': (x + 1)·127.5, clipped and rounded.
    from PIL import Image

    from core.diffusion import figures
    img = Image.fromarray((np.arange(30 * 20) % 256).astype(np.uint8).reshape(20, 30))
    x0, eps, s = schedule.forward_parts(img, 7, "cosine", 100, 24)
    assert x0.shape == eps.shape == (1, 16, 24) and s.T == 100 and s.kind == "cosine"
    assert x0.min() >= -1 and x0.max() <= 1
    for t in (0, 1, 37, 100):
        x_t, (signal, noise), used = schedule.noised_image(img, t, 7, "cosine", 100, 24)
        a = 1.0 if t == 0 else s.alpha_bar[t - 1]
        np.testing.assert_allclose(x_t, np.sqrt(a) * x0 + np.sqrt(1 - a) * eps, atol=1e-12)
        assert used == t and (signal, noise) == pytest.approx((np.sqrt(a), np.sqrt(1 - a)))
    np.testing.assert_array_equal(figures.levels(np.array([[[-2.0, -1.0, 0.0, 0.999, 1.0, 3.0]]])),
                                  [[[0, 0, 128, 255, 255, 255]]])


def label_net(calls):
    def epsilon(x, t, labels):  # eps = label + 1 everywhere, so the guidance mix can be checked by hand
        calls.append(1)
        return (labels.float() + 1).view(-1, 1, 1, 1).expand_as(x)
    return epsilon


@pytest.mark.parametrize("w", [0.0, 1.0, 2.5])
def test_guided_epsilon_is_uncond_plus_w_times_the_difference(w):
    calls = []
    x, labels = torch.zeros(2, 1, 4, 4), torch.tensor([3, 7])
    eps = guided_epsilon(label_net(calls), x, 500, labels, w, null_label=10)
    uncond, cond = 11.0, (labels.float() + 1).view(-1, 1, 1, 1)
    torch.testing.assert_close(eps, (uncond + w * (cond - uncond)).expand_as(x))
    assert len(calls) == 1  # w = 1 skips the unconditional half; otherwise both halves go in one batch


def test_guidance_zero_is_the_unconditional_model_and_one_the_conditional_on_the_real_unet():
    p = bundled()
    x, t, labels = torch.randn(3, 1, 28, 28, generator=torch.Generator().manual_seed(0)), torch.tensor(700), \
        torch.tensor([0, 4, 9])
    with torch.no_grad():
        torch.testing.assert_close(guided_epsilon(p.epsilon, x, t, labels, 0.0, p.null_label),
                                   p.epsilon(x, t, torch.full_like(labels, p.null_label)), atol=1e-5, rtol=1e-4)
        torch.testing.assert_close(guided_epsilon(p.epsilon, x, t, labels, 1.0, p.null_label),
                                   p.epsilon(x, t, labels))


def test_guidance_rescale_matches_the_conditional_spread():
    gen = torch.Generator().manual_seed(0)
    cond, guided = torch.randn(2, 1, 8, 8, generator=gen), 3 * torch.randn(2, 1, 8, 8, generator=gen)
    full = sampling.rescale_guidance(guided, cond, 1.0)
    torch.testing.assert_close(full.std(dim=(1, 2, 3)), cond.std(dim=(1, 2, 3)))
    torch.testing.assert_close(sampling.rescale_guidance(guided, cond, 0.0), guided)
    half = sampling.rescale_guidance(guided, cond, 0.5)
    torch.testing.assert_close(half, 0.5 * full + 0.5 * guided)


def test_dynamic_thresholding_takes_effect():
    # x̂₀ beyond the threshold is scaled back by diffusers' step: with it on, |x̂₀| stays within THRESHOLD_MAX.
    p = bundled()
    on = Settings(3, 8.0, "ddim", 10, 0, thresholding=True)
    off = Settings(3, 8.0, "ddim", 10, 0)
    peak_on = max(s.x0.abs().max().item() for s in sampling.steps(p, on))
    peak_off = max(s.x0.abs().max().item() for s in sampling.steps(p, off))
    assert peak_on <= 1.0 + 1e-5 < peak_off  # diffusers divides by s after clamping to [-s, s]


def test_ddpm_shows_the_schedulers_own_x0_and_ddim_from_epsilon_agrees():
    p = bundled()
    for kind in ("ddpm", "ddim", "euler"):
        first = next(sampling.steps(p, Settings(2, 1.0, kind, 20, 0)))
        assert first.x0_from_scheduler
        a = make_scheduler(kind, p.scheduler_config).alphas_cumprod[first.t]
        computed = (first.x_t - (1 - a).sqrt() * first.epsilon) / a.sqrt()
        torch.testing.assert_close(first.x0, computed, atol=1e-3, rtol=1e-3)
    first = next(sampling.steps(p, Settings(2, 1.0, "dpm++", 20, 0)))
    assert not first.x0_from_scheduler


def test_the_first_reverse_step_changes_the_sample():
    # With ᾱ indexed wrongly (ᾱ_T taken as 1, say), x_{T-1} would equal x_T; a right step moves it. DDPM's step
    # adds σ_t·z, which would move it even then, so its deterministic mean is checked too: x_t minus the added noise.
    p = bundled()
    first = next(sampling.steps(p, Settings(5, 1.0, "ddpm", 1000, 0)))
    assert (first.x_next - first.x_t).abs().mean().item() > 1e-3
    # DDIM (η = 0, no noise) against its closed form with ᾱ read at t = 980 and at the next t, 960 (float64 here):
    # x_{t'} = √ᾱ_{t'}·x̂₀ + √(1 − ᾱ_{t'})·ε̂, x̂₀ = (x_t − √(1 − ᾱ_t)·ε̂) / √ᾱ_t.
    ddim = next(sampling.steps(p, Settings(5, 1.0, "ddim", 50, 0)))
    assert ddim.t == 980
    betas = torch.linspace(1e-4, 0.02, 1000, dtype=torch.float64)
    abar = torch.cumprod(1 - betas, 0)
    a_t, a_prev = abar[980], abar[960]
    x0 = (ddim.x_t.double() - (1 - a_t).sqrt() * ddim.epsilon.double()) / a_t.sqrt()
    expected = a_prev.sqrt() * x0 + (1 - a_prev).sqrt() * ddim.epsilon.double()
    torch.testing.assert_close(ddim.x_next.double(), expected, atol=2e-5, rtol=1e-4)
    assert (ddim.x_next - ddim.x_t).abs().max().item() > 1e-3


def test_ddim_eta_adds_the_schedulers_noise():
    """η = 0 is deterministic DDIM; η = 1 adds DDPM-sized noise at each step (seeded, so it still repeats)."""
    p = bundled()
    plain = sampling.sample(p, Settings(2, 3.0, "ddim", 10, 4))
    noisy = sampling.sample(p, Settings(2, 3.0, "ddim", 10, 4, eta=1.0))
    assert (plain - noisy).abs().mean().item() > 0.02
    torch.testing.assert_close(noisy, sampling.sample(p, Settings(2, 3.0, "ddim", 10, 4, eta=1.0)))


def test_same_seed_same_image_and_other_seeds_differ():
    p = bundled()
    a, b = (sampling.sample(p, Settings(1, 3.0, "ddim", 10, 7)) for _ in range(2))
    torch.testing.assert_close(a, b)
    assert not torch.equal(a, sampling.sample(p, Settings(1, 3.0, "ddim", 10, 8)))


def test_unconditional_pipeline_takes_no_label():
    calls = []
    net = torch.nn.Linear(1, 1)

    def epsilon(x, t, labels):
        calls.append(labels)
        return torch.zeros_like(x)
    p = Denoiser("toy", "toy", net, epsilon, dict(bundled().scheduler_config), (3, 4, 4), 0, ())
    assert sampling.sample(p, Settings(None, 3.0, "ddim", 3, 0)).shape == (1, 3, 4, 4)
    assert calls == [None] * 3
    with pytest.raises(ValueError, match="unconditional"):
        sampling.check(p, 2, 1.0, "ddim", 10, 0)


@pytest.mark.parametrize("bad,match", [({"steps": 0}, "steps"), ({"steps": 1001}, "steps"),
                                       ({"scheduler": "lms"}, "scheduler"), ({"label": 10}, "label"),
                                       ({"guidance": float("nan")}, "guidance"), ({"guidance": 11}, "guidance"),
                                       ({"scheduler": "euler", "thresholding": True}, "thresholding")])
def test_bad_settings_are_refused(bad, match):
    args = {"label": 1, "guidance": 3.0, "scheduler": "ddim", "steps": 50, "seed": 0} | bad
    with pytest.raises(ValueError, match=match):
        sampling.check(bundled(), **args)


@pytest.mark.parametrize("kind,steps", [("ddim", 25), ("dpm++", 20), ("euler", 30), ("euler-a", 30),
                                        ("heun", 15), ("unipc", 20), ("ddpm", 100)])
def test_every_scheduler_drives_the_bundled_unet_to_the_asked_class(kind, steps):
    cnn = load("cnn")
    labels = torch.arange(20) % 10
    images = sampling.sample(bundled(), Settings(None, 3.0, kind, steps, 0), labels)
    assert images.shape == (20, 1, 28, 28) and torch.isfinite(images).all()
    assert images.min() >= -1 and images.max() <= 1
    assert images.std() > 0.2  # not a blank or collapsed canvas
    # DDIM-50 at w = 3 measures 0.99 (assets/MODELS.md); a broken schedule scores near 0.1.
    assert metrics.class_agreement(cnn, (images + 1) / 2, labels) >= 0.7
    assert np.isfinite(images.numpy()).all()


@pytest.mark.parametrize("kind", list(sampling.SCHEDULERS))
@pytest.mark.parametrize("steps", [2, 20, 500, 999, sampling.MAX_STEPS])
def test_every_scheduler_takes_distinct_timesteps_from_the_noisy_end(kind, steps):
    """At any number of steps, a run visits `steps` distinct timesteps, falling, the first no more than one stride
    below T (leading spacing starts at T - T/steps; DPM-Solver++ and UniPC used to run all 1,000 steps at t = 0,
    and 500 steps from t = 500)."""
    scheduler = sampling.make_scheduler(kind)
    scheduler.set_timesteps(steps)
    t = [int(v) for v in scheduler.timesteps]
    distinct = list(dict.fromkeys(t))  # Heun visits each t twice, back to back
    assert len(distinct) == steps and distinct == sorted(distinct, reverse=True), t[:8]
    assert distinct[0] >= sampling.MAX_STEPS - sampling.MAX_STEPS // steps - 1, distinct[:3]
