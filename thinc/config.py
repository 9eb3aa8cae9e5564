"""The config system: confection's Config plus thinc's function registries.

Every registered function lives in one of the catalogue namespaces below, so a
config block such as ``@layers = "Linear.v1"`` resolves to the factory."""

import catalogue
import confection
from confection import VARIABLE_RE, Config, ConfigValidationError, Promise

from .types import Decorator

__all__ = ["Config", "ConfigValidationError", "Promise", "VARIABLE_RE", "registry"]


class registry(confection.registry):
    # Namespaces are shared with every other catalogue user called "thinc".
    optimizers: Decorator = catalogue.create("thinc", "optimizers", entry_points=True)
    schedules: Decorator = catalogue.create("thinc", "schedules", entry_points=True)
    layers: Decorator = catalogue.create("thinc", "layers", entry_points=True)
    losses: Decorator = catalogue.create("thinc", "losses", entry_points=True)
    initializers: Decorator = catalogue.create("thinc", "initializers", entry_points=True)
    datasets: Decorator = catalogue.create("thinc", "datasets", entry_points=True)
    ops: Decorator = catalogue.create("thinc", "ops", entry_points=True)

    @classmethod
    def create(cls, registry_name: str, entry_points: bool = False) -> None:
        """Add a new namespace, e.g. for a library that builds on thinc."""
        if hasattr(cls, registry_name):
            raise ValueError(f"Registry '{registry_name}' already exists")
        reg: Decorator = catalogue.create("thinc", registry_name, entry_points=entry_points)
        setattr(cls, registry_name, reg)
