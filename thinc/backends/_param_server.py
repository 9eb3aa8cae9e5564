"""PLACEHOLDER (owned by the model helper)."""


class ParamServer:
    pass
