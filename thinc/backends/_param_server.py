"""thinc 8.3's import path for the model's parameter storage, which now lives in
thinc._param_server (it belongs to Model, not to a backend)."""

from .._param_server import Key, KeyT, ParamServer  # noqa: F401
