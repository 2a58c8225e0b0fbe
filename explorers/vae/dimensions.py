"""The VAE tab's views of vae16's latent dimensions and its prior: the traversal of A's code one dimension at a
time with the KL per dimension, the explain panel's KL calculator, and samples decoded from N(0, τ² I)."""
from typing import NamedTuple

from PIL import Image

from core.data import CLASSES
from core.vae import figures
from core.vae import latent as L
from explorers.common import Box
from explorers.vae.charts import kl_chart

TAU = Box("Temperature τ", L.MIN_TAU, L.MAX_TAU, 1.0, whole=False)
SEED = Box("Seed", 0, 2**31 - 1, 0)
SAMPLES = 16


class DimensionViews(NamedTuple):
    traversal: Image.Image
    traversal_note: str
    kl: dict


def dimension_views(x_a) -> DimensionViews:
    """The traversal of A's code along its most used dimensions (figures.traversal_sheet), what it leaves out, and
    the KL of every dimension."""
    code = L.encode("vae16", x_a)
    sheet, shown = figures.traversal_sheet(L.traversal("vae16", code.mu), L.TRAVERSAL, code.kl_per_dim)
    rest = [d for d in range(len(code.mu)) if d not in shown]
    note = (f"Each row sweeps one dimension zk from −3 to +3 (the columns) while the other {len(code.mu) - 1} stay "
            f"at A's μ; the rows are the {len(shown)} dimensions with the largest KL for A, largest first.")
    if rest:
        note += (f" Not shown: {', '.join(f'z{d + 1}' for d in rest)}, each with KL ≤ "
                 f"{code.kl_per_dim[rest].max():.2f} nats: the less KL a dimension has, the less its row changes, "
                 "and at 0 it carries nothing.")
    return DimensionViews(sheet, note, kl_chart(code.kl_per_dim, f"KL per dimension for A (vae16), total "
                                                                 f"{code.kl:.2f} nats"))


def sample_views(model: str, tau_box, seed_box) -> tuple:
    tau, seed = TAU.read(tau_box), SEED.read(seed_box)
    _, frames = L.sample(model, SAMPLES, tau.value, seed.value)
    probabilities = L.classify(frames)
    labels = [f"{CLASSES[i]} {p:.2f}" for i, p in zip(probabilities.argmax(1), probabilities.max(1), strict=True)]
    confident = float((probabilities.max(1) >= L.CONFIDENT).mean())
    note = (f"{SAMPLES} codes z ~ N(0, {tau.value:g}² I) from seed {seed.value}, decoded by **{model}**; the CNN "
            f"reads {confident:.0%} of them with top probability ≥ 0.9.")
    # 96-pixel cells: render.grid keeps cell // 6 characters of a label, enough for "T-shirt/top 0.99"
    return figures.sheet(frames, 8, cell=96, labels=labels), note, tau.shown, seed.shown


def kl_answer(mu_text: str, logvar_text: str) -> str:
    """The KL calculator's output: the table, or for a bad input its message in the table's place, so that the
    page never shows an earlier input's table beside an error."""
    try:
        return kl_table(mu_text, logvar_text)
    except ValueError as e:
        return f"**Not computed.** {e}"


def kl_table(mu_text: str, logvar_text: str) -> str:
    """The KL calculator's answer: the closed-form KL per dimension of the typed μ and log σ², and their total."""
    mu, logvar = (parse_numbers(t, name) for t, name in ((mu_text, "μ"), (logvar_text, "log σ²")))
    per_dim = L.kl_closed_form(mu, logvar)
    rows = "\n".join(f"| z{i + 1} | {m:.4g} | {v:.4g} | {k:.4f} |"
                     for i, (m, v, k) in enumerate(zip(mu, logvar, per_dim, strict=True)))
    return (f"| dimension | μ | log σ² | KL (nats) |\n|---|---:|---:|---:|\n{rows}\n\n"
            f"**Total KL = {per_dim.sum():.4f} nats**")


def parse_numbers(text: str, name: str) -> list[float]:
    """'0, 1.5, -2' as numbers, with a message naming the box for anything else."""
    parts = [p for p in str(text).replace(";", ",").replace(" ", ",").split(",") if p]
    if not parts:
        raise ValueError(f"{name}: type one number per dimension, separated by commas.")
    if len(parts) > 256:
        raise ValueError(f"{name}: at most 256 dimensions; {len(parts)} were typed.")
    try:
        return [float(p) for p in parts]
    except ValueError:
        bad = next(p for p in parts if not _is_float(p))
        raise ValueError(f"{name}: {bad[:20]!r} is not a number.") from None


def _is_float(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False
