"""What the GAN tab's two kinds of run (toy.Run on 2-D points, dcgan.ImageRun on Fashion-MNIST) share as live
runs (core.live): `ended`, and retuning a run as it goes."""
from __future__ import annotations

import dataclasses

LIVE_FIELDS = ("loss", "k", "lr_d", "lr_g", "batch", "smoothing", "gp_lambda")  # changeable while a run goes on


class GanRun:
    """A mixin for runs that set `diverged` (None, or why the run cannot go on) as they step."""

    diverged: str | None

    @property
    def ended(self) -> str | None:
        """core.live's protocol: a GAN run ends only by diverging."""
        return self.diverged


def retune(run, settings) -> bool:
    """Give a running `run` (a toy.Run or a dcgan.ImageRun) new checked `settings` if they differ from its own
    only in LIVE_FIELDS: the losses, k, batch and penalty are read at every step, and the learning rates are set
    in the optimisers. False when anything else differs (data, networks, optimiser, seed): that needs a new run."""
    current = run.settings
    if any(getattr(settings, f.name) != getattr(current, f.name)
           for f in dataclasses.fields(current) if f.name not in LIVE_FIELDS):
        return False
    for optimizer, lr in ((run.opt_d, settings.lr_d), (run.opt_g, settings.lr_g)):
        for group in optimizer.param_groups:
            group["lr"] = lr
    run.settings = settings
    return True


