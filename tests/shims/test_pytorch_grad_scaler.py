"""PyTorchGradScaler: scaling, unscaling with overflow detection, scale updates."""

import pytest

torch = pytest.importorskip("torch", reason="needs PyTorch: .venv/bin/pip install torch==2.13.0")

from thinc.shims.pytorch_grad_scaler import PyTorchGradScaler  # noqa: E402


def test_disabled_scaler_is_identity():
    scaler = PyTorchGradScaler(enabled=False)
    tensor = torch.ones(3)
    assert scaler.scale(tensor) is tensor
    assert scaler.unscale([tensor]) is False


def test_enabled_scaler_refuses_cpu_tensors():
    # thinc 8.3.14 raises here too: mixed precision is not silently dropped on the CPU.
    scaler = PyTorchGradScaler(enabled=True)
    with pytest.raises(ValueError, match="CUDA"):
        scaler.scale(torch.ones(2))
    with pytest.raises(ValueError, match="CUDA"):
        scaler.scale([torch.ones(2)], inplace=True)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="gradient scaling needs CUDA")
def test_scale_and_unscale_round_trip():
    scaler = PyTorchGradScaler(enabled=True, init_scale=8.0)
    scaler.to_("cuda")
    scaled = scaler.scale([torch.ones(2, device="cuda"), torch.full((2,), 0.5, device="cuda")])
    assert [t.tolist() for t in scaled] == [[8.0, 8.0], [4.0, 4.0]]
    assert scaler.unscale(scaled) is False
    assert [t.tolist() for t in scaled] == [[1.0, 1.0], [0.5, 0.5]]


def test_overflow_backs_off_and_growth_after_interval():
    scaler = PyTorchGradScaler(enabled=True, init_scale=16.0, growth_interval=2)
    assert scaler.unscale([torch.tensor([float("inf")])]) is True
    scaler.update()
    assert scaler.scale_factor == 8.0 and scaler.found_inf is False
    for _ in range(2):
        scaler.unscale([torch.ones(1)])
        scaler.update()
    assert scaler.scale_factor == 16.0


@pytest.mark.parametrize(
    "kwargs", [{"backoff_factor": 1.5}, {"growth_factor": 0.5}, {"growth_interval": 0}]
)
def test_invalid_settings_raise(kwargs):
    with pytest.raises(ValueError):
        PyTorchGradScaler(**kwargs)
