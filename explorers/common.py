"""What every explorer's handlers share: turning core's ValueErrors into gr.Error, and reading image inputs."""
from __future__ import annotations

import functools
import inspect
import logging

import gradio as gr

from core.checkpoints import CheckpointError

log = logging.getLogger(__name__)


def user_errors(fn):
    """Core raises ValueError (and its ImageError, DataError ...) or CheckpointError with a message for a person;
    the UI and the API show that message. Anything else is a bug: log it in full and say so in one line."""
    def translate(e: Exception) -> gr.Error:
        if isinstance(e, (ValueError, CheckpointError)):
            return gr.Error(str(e), print_exception=False)
        log.exception("unexpected error in %s", fn.__name__)
        return gr.Error(f"Internal error in {fn.__name__} ({type(e).__name__}). The server is still running; "
                        "please report this with the input that caused it.", print_exception=False)

    if inspect.isgeneratorfunction(fn):  # streaming handlers: errors may come at any step
        @functools.wraps(fn)
        def gen_wrapper(*args, **kwargs):
            try:
                yield from fn(*args, **kwargs)
            except gr.Error:
                raise
            except Exception as e:
                raise translate(e) from None
        return gen_wrapper

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except gr.Error:
            raise
        except Exception as e:
            raise translate(e) from None
    return wrapper


def file_path(image) -> str | None:
    """The server-side path of an image input, whether it arrives as gradio FileData, its dict form, or a path."""
    if image is None:
        return None
    if isinstance(image, dict):
        return image.get("path")
    return getattr(image, "path", image if isinstance(image, str) else None)
