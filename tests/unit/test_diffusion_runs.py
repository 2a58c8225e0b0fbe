"""The diffusion tab's live runs (core.live): a SamplingRun stepped by hand or by a Runner records what the plain
sampling loop computes, and the toy's TrainingRun ends at its steps with the same model as headless training."""
import re

import numpy as np
import pytest
import torch

from core.diffusion import record, sampling, toy
from core.diffusion.denoisers import Denoiser, bundled
from core.diffusion.sampling import Settings
from core.live import Runner
from core.models import ddpm_scheduler_config
from core.threads import one_thread

IDLE = 600.0   # nobody streams these runs: they must not stop for want of a watcher on a busy machine


@pytest.fixture(scope="module")
def small():
    """A tiny conditional denoiser (a seeded conv), so DDPM's noise and guidance both take part."""
    net = torch.nn.Conv2d(1, 1, 3, padding=1)
    with torch.no_grad():
        net.weight.copy_(torch.randn(net.weight.shape, generator=torch.Generator().manual_seed(0)) * 0.1)
        net.bias.zero_()

    def epsilon(x, t, labels):
        return net(x) + 0.01 * labels.float().view(-1, 1, 1, 1)
    return Denoiser("small", "small", net, epsilon, dict(ddpm_scheduler_config()), (1, 6, 6), 3,
                    ("a", "b", "c"))


@pytest.mark.parametrize("scheduler", ["ddpm", "ddim", "heun"])
def test_a_sampling_run_stepped_by_hand_records_the_plain_loop(small, scheduler):
    settings = Settings(1, 2.0, scheduler, 7, 5)
    plain = list(sampling.steps(small, settings))
    run = record.SamplingRun(small, settings)
    assert run.ended is None and run.step_count == 0
    while not run.ended:
        run.step()
    rec = run.recording
    assert run.step_count == len(plain) == len(rec) and rec.done
    for i, step in enumerate(plain):
        assert rec.timesteps[i] == step.t
        np.testing.assert_array_equal(rec.x_t[i], step.x_t[0].to(torch.float16).numpy())
        np.testing.assert_array_equal(rec.x0[i], step.x0[0].to(torch.float16).numpy())
    np.testing.assert_array_equal(rec.final, sampling.sample(small, settings)[0].numpy())
    assert rec.steps == list(range(1, len(plain) + 1)) and rec.total == len(plain)


def test_a_long_run_records_thinned_steps_numbered_as_the_run_counts_them(small):
    # DDPM-1000 keeps one step in two (MAX_FRAMES) and always the last: steps 1, 3, … 999 and 1000.
    rec = record.recorded(small, Settings(1, 1.0, "ddpm", 1000, 0))
    assert rec.every == 2 and rec.steps == [*range(1, 1000, 2), 1000] and len(rec) == len(rec.timesteps)


@pytest.mark.parametrize("scheduler,steps,total,calls", [("ddim", 7, 7, ""), ("heun", 7, 13, " network calls")])
def test_every_view_counts_steps_one_way(small, scheduler, steps, total, calls):
    # Step k of N is the run's k-th step, 1 … N: the status line, the live frame, the player's range and its label
    # (player.js: "Step {steps[i]} of {total}{calls}") all say the same k; never "Step N + 1 of N".
    from explorers.diffusion import reverse
    rec = record.recorded(small, Settings(1, 2.0, scheduler, steps, 0))
    last = len(rec) - 1
    assert rec.total == total and rec.steps[0] == 1 and rec.steps[last] == total
    assert f"**Step {total} of {total}{calls}** (diffusers timestep t = {rec.timesteps[last]}), done" in (
        reverse.status_text(rec, last))
    assert "**Step 3 of" in reverse.status_text(rec, 2)
    assert f"data-step='{rec.steps[2]}'" in reverse.frames_html(rec, 2)
    value = reverse.player_value(rec)
    assert value["total"] == total and value["calls"] == bool(calls) and value["every"] == 1


def test_the_players_frames_are_the_pictures_levels(small):
    # The reverse player is sent each step's x_t, ε̂ / 3 and x̂₀ as the live view's pictures draw them.
    from core.diffusion import figures
    rec = record.recorded(small, Settings(1, 2.0, "ddim", 4, 0))
    frames = figures.run_levels(rec.x_t, rec.epsilon, rec.x0)
    assert frames.shape == (4, 3, 1, 6, 6) and frames.dtype == np.uint8
    for i in range(4):
        for p, picture in enumerate((figures.picture(rec.x_t[i], 6), figures.noise_picture(rec.epsilon[i], 6),
                                     figures.picture(rec.x0[i], 6))):
            np.testing.assert_array_equal(frames[i, p, 0], np.asarray(picture))


def test_a_runner_steps_the_bundled_sampling_run_to_its_end():
    settings = sampling.check(bundled(), 7, 3.0, "ddim", 5, 0)
    runner = Runner(record.SamplingRun(bundled(), settings), single=True, idle=IDLE, name="test-sampler")
    assert runner.start() is None
    runner._thread.join()
    assert runner.error is None and runner.reason == "Done."
    rec = runner.run.recording
    assert runner.run.step_count == 5 and rec.done and rec.seconds > 0
    with one_thread():   # as the Runner's thread (`single`): the UNet's sums then add up in the same order
        np.testing.assert_array_equal(rec.final, record.recorded(bundled(), settings).final)
    assert runner.start() == "Done."   # an ended run does not start again


def test_the_toy_training_run_stops_at_its_steps_with_the_headless_model():
    run = toy.TrainingRun(toy.Settings("moons", seed=4, seconds=toy.MAX_SECONDS, steps=25))
    with one_thread():   # as train() steps it
        while not run.ended:
            run.step()
    assert run.step_count == 25 and run.ended == "Trained 25 steps."
    headless = toy.train("moons", seconds=toy.MAX_SECONDS, steps=25, seed=4)
    assert run.diffusion.losses == headless.losses


def test_the_toy_training_run_through_a_runner_and_its_stop():
    runner = Runner(toy.TrainingRun(toy.Settings("ring", seed=1, seconds=toy.MAX_SECONDS, steps=12)), single=True,
                    idle=IDLE)
    assert runner.start() is None
    runner._thread.join()
    assert runner.error is None and runner.reason == "Trained 12 steps." and runner.run.step_count == 12
    long = Runner(toy.TrainingRun(toy.Settings("ring", seed=1, seconds=toy.MAX_SECONDS)), single=True, idle=IDLE)
    assert long.start() is None
    long.stop("Stopped.")
    assert not long.running and long.reason == "Stopped." and long.run.ended is None


def test_the_comparison_streams_each_sides_steps_then_its_result():
    # Compare took ~16 s with no sign of life: each side's note now counts its steps while it samples.
    from explorers.diffusion import compare
    updates = [u for u, _ in compare.compared(None, "0", 0, ("ddim", 3, 3.0), ("dpm++", 2, 1.0))]
    a_notes = [u.a_note for u in updates if isinstance(u.a_note, str)]
    b_notes = [u.b_note for u in updates if isinstance(u.b_note, str)]
    assert any(n.startswith("A is sampling (ddim, 3 steps): step 3 of 3") for n in a_notes), a_notes
    assert any(n.startswith("B is sampling (dpm++, 2 steps): step 2 of 2") for n in b_notes), b_notes
    assert "ddim, 3 steps, w = 3**, seed 0:" in a_notes[-1] and "s of sampling" in a_notes[-1]
    assert "dpm++, 2 steps, w = 1**, seed 0:" in b_notes[-1]
    assert updates[-1].b_image.size[0] > 0 and updates[-1].b_steps == {"__type__": "update"}   # 2 is shown already
    # The event's handler sends the views and the visitor's holder as the outputs it lists, flat.
    handler = compare.compare_ui(None, "0", 0, "ddim", 3, 3.0, "dpm++", 2, 1.0)
    first = next(handler)
    handler.close()
    assert len(first) == len(compare.Compared._fields) + 1 and type(first[-1]).__name__ == "LastSample"


def test_a_stopped_comparison_says_where_and_does_not_start_b():
    from explorers.diffusion import compare, reverse
    run = compare.compared(None, "0", 0, ("ddpm", 1000, 3.0), ("ddim", 3, 3.0))
    first, holder = next(run)
    assert first.b_note == "B samples once A is done." and first.b_image is None   # an earlier B strip is cleared
    next(run)                      # A has started
    reverse.stop_ui(holder)
    rest = [u for u, _ in run]
    last = rest[-1].a_note
    assert re.match(r"A was stopped (at step \d+ of 1000|before its first step)\.", last), last
    # B's note says it never ran (it said B would sample once A is done), and B's recording is never made
    assert [u.b_note for u in rest if isinstance(u.b_note, str)] == ["B was not sampled: A was stopped."]
    assert rest[-1].b_note == "B was not sampled: A was stopped."
    assert holder.runner.run.recording.settings.steps == 1000
