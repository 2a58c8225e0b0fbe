"""The UNet2DModel of a diffusers pipeline on the Hugging Face Hub (an unconditional DDPM such as
google/ddpm-cifar10-32), opened as a core.diffusion.denoisers.Denoiser, guarded like the attention tab's text models
(core.hub):
- GLASSBOX_DIFFUSION_MODELS: a comma-separated allow-list of hub ids; unset means any id under the cap.
- GLASSBOX_MAX_PARAMS: the largest parameter count that may be loaded (default 100 million: google/ddpm-cifar10-32
  has 36 M and ddpm-celebahq-256 114 M; the tab steps the network hundreds of times per picture on a CPU, so a
  UNet much larger than CIFAR's would stream too slowly to watch). It is counted from the config on the meta
  device before any weights are downloaded.
- core.hub.local_only(): offline (core.offline) or with the Hub out of reach, only what is already in the Hugging
  Face cache, refused in one line without a network attempt.
Only the repo's config.json files and its safetensors weights are read: never .bin (pickles), never remote code.
"""
from __future__ import annotations

import json

import torch

from core import hub, offline, settings
from core.device import device
from core.diffusion import diffusers_class
from core.diffusion.denoisers import BUNDLED, Denoiser, bundled
from core.registry import DownloadFailed, Registry
from core.validate import as_text, echo

DEFAULT_MAX_PARAMS = 100_000_000
WEIGHTS = "diffusion_pytorch_model.safetensors"
# The DDPM paper's schedule (Ho et al. 2020), which diffusers' DDPMScheduler defaults to, for repos without one.
DEFAULT_SCHEDULER = {"num_train_timesteps": 1000, "beta_start": 0.0001, "beta_end": 0.02,
                     "beta_schedule": "linear", "prediction_type": "epsilon"}


def canonical(model_id) -> str:
    """"default" for the bundled UNet (also for ""), else a checked hub id that this server allows."""
    if model_id is None:
        return BUNDLED
    if not isinstance(model_id, str) or len(model_id) > hub.MAX_HUB_ID:
        raise ValueError(f"model must be a Hugging Face id such as google/ddpm-cifar10-32, or \"default\" for the "
                         f"bundled UNet; not {echo(model_id)}.")
    model_id = as_text(model_id.strip(), "model id", hub.MAX_HUB_ID)
    if model_id in ("", BUNDLED):
        return BUNDLED
    if not hub.is_hub_id(model_id):
        raise ValueError(f"{echo(model_id)} is not a Hugging Face model id (like google/ddpm-cifar10-32).")
    allowed = settings.DIFFUSION_MODELS.get()
    if allowed is not None and model_id not in allowed:
        raise ValueError(f"{model_id} is not on this server's list of diffusion models "
                         f"({settings.DIFFUSION_MODELS.name}): "
                         f"{', '.join(sorted(allowed))}, or \"default\".")
    return model_id


def _download(model_id: str, filename: str, subfolder: str | None) -> str | None:
    """The local path of one file of the repo (from the cache, or downloaded where allowed); None when the repo
    has no such file. Offline, a file that is not cached raises DownloadFailed at once."""
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import EntryNotFoundError, LocalEntryNotFoundError
    try:
        return hf_hub_download(model_id, filename, subfolder=subfolder or None,
                               local_files_only=hub.local_only())
    except LocalEntryNotFoundError as e:
        raise DownloadFailed(hub.not_cached(model_id)) from e
    except EntryNotFoundError:
        return None
    except Exception as e:  # a missing or gated repo, the network ...
        raise ValueError(f"{model_id} cannot be opened: {hub.readable_error(e)}") from e


def _config(model_id: str, filename: str, subfolders: tuple[str, ...]) -> tuple[dict, str] | None:
    """The first of `subfolders` whose `filename` exists, read as JSON, with that subfolder."""
    missing = None
    for subfolder in subfolders:
        try:
            path = _download(model_id, filename, subfolder)
        except DownloadFailed as e:  # offline, a file that is not cached may still be under the other layout
            missing = missing or e
            continue
        if path is not None:
            try:
                return json.loads(open(path, encoding="utf-8").read()), subfolder
            except ValueError as e:
                raise ValueError(f"{model_id}'s {subfolder + '/' if subfolder else ''}{filename} is not JSON.") from e
    if missing is not None:
        raise missing
    return None


def _has_safetensors(model_id: str, subfolder: str) -> bool:
    """Whether the repo has safetensors weights (downloading them where allowed). Offline, a repo cached with only
    its .bin weights is told so, rather than told that it is not cached."""
    from huggingface_hub import try_to_load_from_cache
    try:
        return _download(model_id, WEIGHTS, subfolder) is not None
    except DownloadFailed:
        pickle = f"{subfolder}/diffusion_pytorch_model.bin" if subfolder else "diffusion_pytorch_model.bin"
        if isinstance(try_to_load_from_cache(model_id, pickle), str):
            return False
        raise


def _build(model_id: str) -> Denoiser:
    offline.tell_huggingface_hub()
    found = _config(model_id, "config.json", ("unet", ""))
    if found is None:
        raise ValueError(f"{model_id} has no unet/config.json or config.json: it is not a diffusers UNet2DModel.")
    config, subfolder = found
    if config.get("_class_name") != "UNet2DModel":
        raise ValueError(f"{model_id} is a {echo(config.get('_class_name', 'model without _class_name'))}; this tab "
                         "opens diffusers UNet2DModel pipelines only (e.g. google/ddpm-cifar10-32).")
    note = None
    scheduler = _config(model_id, "scheduler_config.json", ("scheduler", ""))
    if scheduler is None:
        scheduler_config = dict(DEFAULT_SCHEDULER)
        note = f"{model_id} has no scheduler config; using DDPM's (T = 1000, linear betas 0.0001 to 0.02)."
    else:
        scheduler_config = {k: v for k, v in scheduler[0].items() if k != "_class_name"}
    prediction = scheduler_config.get("prediction_type", "epsilon")
    if prediction != "epsilon":
        raise ValueError(f"{model_id} predicts {echo(prediction)}; this tab's x̂₀ needs a noise (epsilon) predictor.")
    unet_class = diffusers_class("UNet2DModel")
    try:
        with torch.device("meta"):  # counts parameters without allocating or downloading any weights
            skeleton = unet_class.from_config(config)
    except Exception as e:  # an odd config: unknown block types, mismatched lengths ...
        raise ValueError(f"{model_id}'s UNet2DModel config cannot be built: {hub.readable_error(e)}") from e
    params = sum(p.numel() for p in skeleton.parameters())
    cap = hub.max_params(DEFAULT_MAX_PARAMS)
    if params > cap:
        raise ValueError(f"{model_id} has {params / 1e6:,.1f} M parameters; this server loads at most "
                         f"{cap / 1e6:,.1f} M (GLASSBOX_MAX_PARAMS).")
    if not _has_safetensors(model_id, subfolder):
        raise ValueError(f"{model_id} has no {WEIGHTS}: this server loads safetensors weights only, never .bin "
                         "files (they are pickles, which can run code).")
    net = hub.fetch(model_id, lambda: unet_class.from_pretrained(
        model_id, subfolder=subfolder or None, use_safetensors=True, low_cpu_mem_usage=False,
        local_files_only=hub.local_only()))
    net = net.eval().requires_grad_(False).to(device())
    size = config.get("sample_size", 32)
    height, width = (size, size) if isinstance(size, int) else (int(size[0]), int(size[1]))
    num_classes = int(config.get("num_class_embeds") or 0)
    if num_classes:
        def epsilon(x, t, labels):
            if labels is None or bool((labels >= num_classes).any()):
                raise ValueError(f"{model_id} was trained without a \"no class\" label: choose a class, and "
                                 "guidance 1 (classifier-free guidance needs one).")
            return net(x, t, class_labels=labels).sample
    else:
        def epsilon(x, t, labels):
            return net(x, t).sample
    kind = f"class-conditional ({num_classes} classes)" if num_classes else "unconditional"
    description = (f"{model_id} (Hugging Face; UNet2DModel, {kind}, {config.get('in_channels', 3)}×{height}×{width}, "
                   f"{params / 1e6:.1f} M parameters)")
    denoiser = Denoiser(model_id, description, net, epsilon, scheduler_config,
                        (int(config.get("in_channels", 3)), height, width), num_classes,
                        tuple(str(i) for i in range(num_classes)))
    NOTES[model_id] = note
    return denoiser


NOTES: dict[str, str | None] = {}
# At most 3 hub denoisers stay loaded (each at most GLASSBOX_MAX_PARAMS parameters); the bundled one is not here.
REGISTRY: Registry[Denoiser] = Registry(_build, BUNDLED, label="class-conditional UNet", max_loaded=3)


def open_denoiser(model_id: str) -> tuple[Denoiser, str | None]:
    """The denoiser `model_id` ("default" or "" for the bundled UNet) and an optional one-line note. ValueError
    with one line for a person when it cannot be opened (core.registry.ModelUnavailable when only the download is
    impossible: offline, or the hub unreachable)."""
    model_id = canonical(model_id)
    if model_id == BUNDLED:
        return bundled(), None
    return REGISTRY.load(model_id), NOTES.get(model_id)


def clear_cache() -> None:
    REGISTRY.clear()
    NOTES.clear()
