"""PLACEHOLDER (owned by the ops helper)."""
import numpy


class Ops:
    name = "base"
    xp = numpy

    def __init__(self, device_type: str = "cpu", device_id: int = -1, **kwargs) -> None:
        self.device_type = device_type
        self.device_id = device_id
