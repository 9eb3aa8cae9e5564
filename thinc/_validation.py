"""Data validation: whether forward passes check the data they get and return
against their annotations (a switch per thread and task), and the check itself."""

import contextlib
import inspect
import typing
from contextvars import ContextVar
from typing import (
    Any,
    Callable,
    Dict,
    Iterator,
    List,
    Mapping,
    Optional,
    Sequence,
    Tuple,
    TypeVar,
    Union,
)

try:
    from confection.validation import validate_type
except ImportError:  # older confection: fall back to pydantic directly
    validate_type = None  # type: ignore[assignment]

# Whether Model forward passes validate their inputs/outputs against annotations.
# A ContextVar, so each thread and asyncio task can switch it independently.
DATA_VALIDATION: ContextVar[bool] = ContextVar("DATA_VALIDATION", default=False)


class DataValidationError(ValueError):
    """A forward pass got or returned data that does not match its annotations."""

    def __init__(
        self,
        name: str,
        X: Any,
        Y: Any,
        errors: Union[Sequence[Mapping[str, Any]], List[Dict[str, Any]]] = [],
    ) -> None:
        rows = []
        for error in errors:
            location = " -> ".join(str(part) for part in error.get("loc", []))
            rows.append((location, str(error.get("msg", ""))))
        width = max((len(location) for location, _ in rows), default=0)
        table = "".join(f"{location:<{width}}   {msg}\n" for location, msg in rows)
        message = f"Data validation error in '{name}'\nX: {type(X)} Y: {type(Y)}\n\n"
        super().__init__(f"\n\n{message}{table}")


@contextlib.contextmanager
def data_validation(validation: bool) -> Iterator[None]:
    """Turn forward-pass data validation on or off within the block (this thread
    or task only)."""
    token = DATA_VALIDATION.set(validation)
    try:
        yield
    finally:
        DATA_VALIDATION.reset(token)


def _check_value(value: Any, annotation: Any) -> Optional[str]:
    """An error message if ``value`` does not match ``annotation``, else None.
    A TypeVar is checked against its bound (or constraints), if it has one."""
    target = annotation
    if isinstance(annotation, TypeVar):
        if annotation.__bound__ is not None:
            target = annotation.__bound__
        elif annotation.__constraints__:
            target = Union[annotation.__constraints__]  # type: ignore[assignment]
        else:
            return None
    if validate_type is not None:
        return validate_type(value, target)
    from pydantic import ConfigDict, TypeAdapter, ValidationError

    try:
        adapter = TypeAdapter(target, config=ConfigDict(arbitrary_types_allowed=True))
        adapter.validate_python(value)
    except ValidationError:
        return f"at root: {value!r} is not {annotation}"
    except Exception:
        # An annotation pydantic cannot check says nothing about the data.
        return None
    return None


def _is_checkable(annotation: Any) -> bool:
    return annotation is not inspect.Parameter.empty and annotation is not Any


def _resolved_hints(func: Callable) -> Dict[str, Any]:
    try:
        return typing.get_type_hints(func)
    except Exception:
        # Unresolvable forward references: keep whatever is already a real type.
        return {
            name: value
            for name, value in getattr(func, "__annotations__", {}).items()
            if not isinstance(value, str)
        }


def validate_fwd_input_output(
    name: str, func: Callable[[Any, Any, bool], Any], X: Any, Y: Any
) -> None:
    """Check X against the annotation of ``func``'s X argument and Y against the
    first element of its return annotation; raise DataValidationError on mismatch.
    None values and unannotated or Any slots are not checked; a TypeVar is
    checked against its bound."""
    try:
        parameters = list(inspect.signature(func).parameters.values())
    except (TypeError, ValueError):
        return
    hints = _resolved_hints(func)
    x_annotation: Any = inspect.Parameter.empty
    if "X" in hints:
        x_annotation = hints["X"]
    elif len(parameters) > 1:
        x_annotation = hints.get(parameters[1].name, inspect.Parameter.empty)
    y_annotation: Any = inspect.Parameter.empty
    returned = hints.get("return", inspect.Parameter.empty)
    return_args = typing.get_args(returned)
    if typing.get_origin(returned) in (tuple, Tuple) and return_args:
        y_annotation = return_args[0]
    errors = []
    if X is not None and _is_checkable(x_annotation):
        message = _check_value(X, x_annotation)
        if message:
            errors.append({"loc": ["X"], "msg": message})
    if Y is not None and _is_checkable(y_annotation):
        message = _check_value(Y, y_annotation)
        if message:
            errors.append({"loc": ["Y"], "msg": message})
    if errors:
        raise DataValidationError(name, X, Y, errors)
