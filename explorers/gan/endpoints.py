"""The GAN tab's gr.api endpoints: gan_train_2d and gan_train_images train headless, in a training slot of their
own like a visitor's run (core.live.headless), gan_d_star returns the D* playground's numbers, and gan_2d_frames streams
the frames of a 2-D run playing in a page (which its view reads). core.gan does the work; each returns what the
tab draws.

No `from __future__ import annotations` here: gr.api reads the return annotation without resolving strings, and
real types give the API page a real schema.
"""
from collections.abc import Iterator

import numpy as np

from core import live, toy2d
from core.gan import dcgan, toy
from core.render import to_data_url
from core.validate import as_bool, as_int, echo
from explorers.common import api, user_errors
from explorers.gan import points

API_SECONDS = 120            # one headless API call trains for at most 2 minutes


def cut_short(done: int, steps: int, diverged: str | None) -> str | None:
    """The note that a call reached its time limit before `steps`, or None."""
    return f"Stopped at the API's limit of {API_SECONDS} s of training." if done < steps and not diverged else None


@user_errors
def gan_train_2d(dataset: str = "ring", loss: str = "nonsaturating", steps: int = 500, seed: int = 0, k: int = 1,
                 lr_d: float = 0.003, lr_g: float = 0.003, optimizer: str = "adam", batch: int = 150,
                 smoothing: float = 0.0, gp_lambda: float = 10.0, g_layers: int = 2, g_neurons: int = 32,
                 d_layers: int = 2, d_neurons: int = 32, points: list[list[float]] | None = None,
                 log_every: int = 10) -> dict:
    """Train a 2-D GAN headless (k D steps per G step, as the tab's play) and return its curves and final fakes.

    Parameters:
        dataset: ring (8 Gaussians), grid (25), moons, line, blobs, or drawn (then give points)
        loss: nonsaturating, saturating, wgan-gp, lsgan or hinge
        steps: iterations, 1 to 20,000; the same seed gives the same result
        seed: the seed of the weights, the data and the noise
        k: D steps per G step, 1 to 20
        lr_d: D's learning rate, above 0 and at most 10
        lr_g: G's learning rate, above 0 and at most 10
        optimizer: adam (betas 0.5, 0.999), sgd or rmsprop
        batch: samples per step, 1 to 2,000
        smoothing: one-sided label smoothing, 0 to 0.5 (the real target is 1 - smoothing)
        gp_lambda: WGAN-GP's penalty weight, 0 to 1,000 (used by wgan-gp only)
        g_layers: G's hidden layers, 0 to 6
        g_neurons: G's neurons per hidden layer, 1 to 256
        d_layers: D's hidden layers, 0 to 6
        d_neurons: D's neurons per hidden layer, 1 to 256
        points: for dataset drawn, the data: 2 to 10,000 [x, y] points inside [-1.5, 1.5]^2
        log_every: iterations between logged points of the curves, 1 to 20,000 (the first is always logged)

    Returns:
        iterations (done), logged_iterations, and per logged iteration losses_d, losses_g, d_real and d_fake (mean
        D outputs: probabilities for the BCE losses, raw scores otherwise), kl and js (nats, on 20 x 20
        histograms); fake: the final fake points of 300 fixed noise vectors ([] when the run diverged); diverged:
        null, or why the run stopped; cut_short: null, or the note that the call reached its 120 s limit before
        `steps`.
    """
    settings = toy.Settings(dataset=dataset, loss=loss, k=k, lr_d=lr_d, lr_g=lr_g, optimizer=optimizer, batch=batch,
                            smoothing=smoothing, gp_lambda=gp_lambda, g_layers=g_layers, g_neurons=g_neurons,
                            d_layers=d_layers, d_neurons=d_neurons, seed=seed,
                            points=None if points is None else tuple(map(tuple, toy2d.check_points(points).tolist())))
    steps = as_int(steps, "steps", 1, toy.MAX_STEPS)
    log_every = as_int(log_every, "log_every", 1, toy.MAX_STEPS)
    run = live.headless(live.SLOTS, True, toy.train, settings.checked(), steps, log_every, API_SECONDS)
    h = run.history
    fake = [] if run.diverged else np.round(toy.view(run, 2).fake, 6).tolist()
    return {"iterations": run.step_count, "logged_iterations": h["iteration"], "losses_d": h["d_loss"],
            "losses_g": h["g_loss"], "d_real": h["d_real"], "d_fake": h["d_fake"], "kl": h["kl"], "js": h["js"],
            "fake": fake, "diverged": run.diverged, "cut_short": cut_short(run.step_count, steps, run.diverged)}


@user_errors
def gan_train_images(steps: int = 50, warm_start: bool = False, seed: int = 0, loss: str = "nonsaturating",
                     k: int = 1, lr_d: float = 2e-4, lr_g: float = 2e-4, batch: int = 64, smoothing: float = 0.1,
                     gp_lambda: float = 10.0) -> dict:
    """Train the Fashion-MNIST DCGAN headless, as the tab's image mode does, and read the result.

    Parameters:
        steps: iterations, 1 to 500; the same settings and seed give the same result
        warm_start: start from the bundled dcgan and dcgan_d instead of DCGAN's random initialisation
        seed: the seed of the initialisation, the data order and the noise
        loss: nonsaturating, saturating, wgan-gp, lsgan or hinge
        k: D steps per G step, 1 to 10
        lr_d: D's learning rate (Adam, betas 0.5, 0.999), above 0 and at most 1
        lr_g: G's learning rate, above 0 and at most 1
        batch: images per step, 2 to 256
        smoothing: one-sided label smoothing, 0 to 0.5 (the real target is 1 - smoothing)
        gp_lambda: WGAN-GP's penalty weight, 0 to 100 (used by wgan-gp only)

    Returns:
        steps (done), and per step losses_d, losses_g, d_real and d_fake; diverged: null or why the run stopped;
        unless it diverged, class_histogram (how the bundled CNN classifies 256 samples, 10 counts), entropy
        (nats; log 10 = 2.303 when every class is equally made), fid_cnn (256 samples against 2,000 test images,
        in the CNN's feature space) and grid (the 8 x 8 fixed-z samples as a PNG data URL); cut_short: null, or
        the note that the call reached its 120 s limit before `steps`.
    """
    settings = dcgan.Settings(loss=loss, k=k, lr_d=lr_d, lr_g=lr_g, batch=batch, smoothing=smoothing,
                              gp_lambda=gp_lambda, warm_start=as_bool(warm_start, "warm_start"), seed=seed)
    steps = as_int(steps, "steps", 1, dcgan.MAX_STEPS)
    result = live.headless(live.SLOTS, False, dcgan.train, settings.checked(), steps, API_SECONDS)
    result["cut_short"] = cut_short(result["steps"], steps, result["diverged"])
    if "grid" in result:
        result["grid"] = to_data_url(result["grid"])
    return result


def d_star_points(x) -> list:
    """x as gan_d_star's docstring promises: one number is a list of one; true/false, text and an empty list are
    refused (numpy would read them as 1.0, a number or nothing)."""
    x = [x] if isinstance(x, (int, float)) and not isinstance(x, bool) else x
    if not isinstance(x, list) or not x:
        raise ValueError(f"x must be a number or a non-empty list of numbers (or null for 201 points), not {echo(x)}.")
    wrong = next((i for i, v in enumerate(x) if isinstance(v, bool) or not isinstance(v, (int, float))), None)
    if wrong is not None:
        raise ValueError(f"x[{wrong}] is {echo(x[wrong])}, which is not a number.")
    return x


@user_errors
def gan_d_star(mu_data: float = 0.0, sd_data: float = 1.0, mu_g: float = 1.0, sd_g: float = 1.0,
               x: list[float] | None = None) -> dict:
    """The optimal discriminator D*(x) = p_data(x) / (p_data(x) + p_g(x)) for two 1-D Gaussians, and the game's value.

    Parameters:
        mu_data: the data's mean
        sd_data: the data's standard deviation, above 0
        mu_g: the generator's mean
        sd_g: the generator's standard deviation, above 0
        x: where to evaluate D*: 1 to 10,000 finite numbers, or one (a list of one); default: 201 points over both

    Returns:
        x and d_star at each x (two lists of the same length, whatever x was sent as), and value:
        E_data[log D*] + E_g[log(1 - D*)] = 2 JSD - 2 log 2 in nats, integrated
        numerically (-2 log 2 = -1.3863 when p_g = p_data).
    """
    x = toy.d_star_curves(mu_data, sd_data, mu_g, sd_g)[0] if x is None else d_star_points(x)
    d = toy.d_star(x, mu_data, sd_data, mu_g, sd_g)
    return {"x": np.asarray(x, dtype=np.float64).tolist(), "d_star": d.tolist(),
            "value": toy.game_value(mu_data, sd_data, mu_g, sd_g)}


@user_errors
def gan_2d_frames(token: str) -> Iterator[dict]:
    """The frames of a 2-D run playing in a visitor's page, as one stream: what its view (gan-2d-view) reads and
    draws while the run plays. A frame at most 16 times a second, only when the run has stepped since the last,
    then the run's last frame when it stops, and the stream ends. Being read keeps the run going: a run nobody
    reads stops after 5 s, so closing the stream (or the page) stops it.

    Parameters:
        token: the unguessable token the page's play gave the 2-D view: it reads that one run and nothing else

    Returns:
        a stream of the view's values: heat (D's output on a 40 x 40 grid over the box, rows from y = -box up), real
        and fake (the points, [n, 2]), arrows (G's step for each fake point), manifold (G's image of a noise grid,
        [lines, points, 2]), each packed as {dtype: float32, shape, data: base64 bytes}; lo and hi (the heatmap's
        colour range), box (the plane's half-width), label (what D's number is), layers (those shown), step (the
        iteration), counter and status (the view's count and status line), alarm (whether the run diverged), latest
        (the latest logged d_loss, g_loss, d_real and d_fake), token (null once the run has stopped) and playing
        (false in a stopped run's last frame, the stream's last message).
    """
    yield from points.frames(token)


def register() -> None:
    """The endpoints, in the order of the API page."""
    api(gan_train_images, "gan_train_images")
    api(gan_train_2d, "gan_train_2d")
    api(gan_d_star, "gan_d_star")
    # no concurrency limit: a stream lasts as long as its run plays, and live.SLOTS caps the runs that train (a
    # newer stream of a run ends the older, see points.frames), where the default limit would queue a second
    # visitor's stream behind the first ones' until their runs stopped, and their own for want of a watcher
    # Its token only comes from a page's play (points.TOKENS): the example is the form of one, which the endpoint
    # refuses with its one-line message until a page plays a run.
    api(gan_2d_frames, "gan_2d_frames", nullable=("token",), concurrency_limit=None,
        example={"token": "the-token-a-page-play-gave"})
