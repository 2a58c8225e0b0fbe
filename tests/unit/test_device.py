"""core.device (device choice, its one-line description, seeding, the ZeroGPU no-op) and app.py's launch flags."""
import sys

import pytest
import torch

import app
from core import device as devices


def test_auto_picks_cpu_here_and_explicit_unavailable_devices_are_clear_errors(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(devices, "_mps_available", lambda: False)
    assert devices.pick_device("auto") == torch.device("cpu")
    assert devices.pick_device("CPU") == torch.device("cpu")
    with pytest.raises(ValueError, match="no CUDA GPU"):
        devices.pick_device("cuda")
    with pytest.raises(ValueError, match="no Apple MPS"):
        devices.pick_device("mps")
    with pytest.raises(ValueError, match="Unknown device 'tpu'"):
        devices.pick_device("tpu")


def test_auto_prefers_cuda_then_mps(monkeypatch):
    monkeypatch.setattr(devices, "_mps_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert devices.pick_device("auto") == torch.device("cuda")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert devices.pick_device("auto") == torch.device("mps")


def test_describe_cpu_names_the_thread_count():
    assert devices.describe(torch.device("cpu")) == f"running on CPU ({torch.get_num_threads()} threads)"


def test_seed_everything_repeats_every_generator():
    a = (devices.seed_everything(3), torch.rand(3))
    b = (devices.seed_everything(3), torch.rand(3))
    assert torch.equal(a[1], b[1])
    assert torch.equal(torch.rand(2, generator=a[0]), torch.rand(2, generator=b[0]))


def test_gpu_decorator_is_the_function_itself_without_spaces(monkeypatch):
    monkeypatch.setitem(sys.modules, "spaces", None)  # makes `import spaces` raise ImportError

    def handler(x, y=2):
        return x * y
    assert devices.gpu(handler) is handler
    assert devices.gpu(duration=10)(handler) is handler


def test_gpu_decorator_wraps_with_spaces_gpu_when_present(monkeypatch):
    calls = []

    class FakeSpaces:
        @staticmethod
        def GPU(duration):
            def deco(f):
                def run(*args, **kwargs):
                    calls.append(duration)
                    return f(*args, **kwargs)
                return run
            return deco
    monkeypatch.setitem(sys.modules, "spaces", FakeSpaces)

    def handler(x):
        """doc"""
        return x + 1
    wrapped = devices.gpu(handler, duration=30)
    assert wrapped(1) == 2 and calls == [30]
    assert wrapped.__name__ == "handler" and wrapped.__doc__ == "doc"  # gr.api reads the signature and doc


def test_launch_flags_default_to_localhost_and_read_the_environment(monkeypatch):
    for var in ("GLASSBOX_HOST", "GLASSBOX_PORT", "GLASSBOX_DEVICE", "GRADIO_SERVER_NAME", "SPACE_ID"):
        monkeypatch.delenv(var, raising=False)
    args = app.parse_args([])
    assert (args.host, args.port, args.share, args.device) == ("127.0.0.1", 7860, False, "auto")
    monkeypatch.setenv("GLASSBOX_HOST", "0.0.0.0")
    monkeypatch.setenv("GLASSBOX_PORT", "8123")
    monkeypatch.setenv("GLASSBOX_DEVICE", "cpu")
    args = app.parse_args([])
    assert (args.host, args.port, args.device) == ("0.0.0.0", 8123, "cpu")
    assert app.parse_args(["--port", "9000", "--host", "10.0.0.1"]).port == 9000


def test_a_space_listens_on_all_interfaces(monkeypatch):
    monkeypatch.delenv("GLASSBOX_HOST", raising=False)
    monkeypatch.delenv("GRADIO_SERVER_NAME", raising=False)
    monkeypatch.setenv("SPACE_ID", "someone/glassbox")
    assert app.parse_args([]).host == "0.0.0.0"


@pytest.mark.parametrize("argv, env", [(["--port", "abc"], {}), ([], {"GLASSBOX_PORT": "abc"}),
                                       (["--device", "tpu"], {})])
def test_bad_launch_flags_exit_with_a_one_line_error(monkeypatch, capsys, argv, env):
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    with pytest.raises(SystemExit) as e:
        app.parse_args(argv)
    assert e.value.code == 2
    assert "invalid" in capsys.readouterr().err
