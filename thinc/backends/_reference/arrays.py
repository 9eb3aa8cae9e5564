"""The reference ops that make, shape and convert arrays, and the matrix product
that the other families build on."""

from typing import Any, Optional, Sequence, TypeVar, Union, cast

import numpy

from ..._frameworks import is_cupy_array, is_torch_array
from ...types import (
    Array1d,
    Array2d,
    Array3d,
    Array4d,
    ArrayXd,
    DTypes,
    DTypesFloat,
    DTypesInt,
    Floats1d,
    Floats2d,
    Floats3d,
    Floats4d,
    FloatsXd,
    Ints1d,
    Ints2d,
    Ints3d,
    Ints4d,
    IntsXd,
    Shape,
    Xp,
    _Floats,
)

ArrayT = TypeVar("ArrayT")
FloatsT = TypeVar("FloatsT", bound=_Floats)
FloatsXdT = TypeVar("FloatsXdT", Floats1d, Floats2d, Floats3d, Floats4d)


class ArrayOps:
    """Allocation, reshaping, conversion and gemm: what every other family uses."""

    # The array module (numpy or cupy); Ops and each backend set it.
    xp: Xp

    # ------------------------------------------------------------- linear algebra

    def gemm(
        self,
        x: Floats2d,
        y: Floats2d,
        out: Optional[Floats2d] = None,
        trans1: bool = False,
        trans2: bool = False,
    ) -> Floats2d:
        """Matrix product of x (or x.T) and y (or y.T), written into ``out`` if given."""
        if x.ndim != 2 or y.ndim != 2:
            raise ValueError(f"gemm needs 2d arrays, got shapes {x.shape} and {y.shape}")
        if trans1:
            x = x.T
        if trans2:
            y = y.T
        if x.shape[1] != y.shape[0]:
            raise ValueError(
                f"gemm shape mismatch: {x.shape} times {y.shape} (trans1={trans1}, trans2={trans2})"
            )
        if out is None:
            return self.xp.dot(x, y)
        if out.shape != (x.shape[0], y.shape[1]):
            raise ValueError(
                f"gemm output has shape {out.shape}, expected {(x.shape[0], y.shape[1])}"
            )
        out[...] = self.xp.dot(x, y)
        return out

    def tile(self, X: Floats2d, reps: int) -> Floats2d:
        """Repeat X ``reps`` times along its last axis."""
        return self.xp.tile(X, reps)

    def affine(self, X: Floats2d, W: Floats2d, b: Floats1d) -> Floats2d:
        """X @ W.T + b."""
        return self.gemm(X, W, trans2=True) + b

    # ---------------------------------------------------------------- allocation

    def get_dropout_mask(self, shape: Shape, drop: Optional[float]) -> FloatsXd:
        """A mask of zeros (probability ``drop``) and 1/(1-drop) (otherwise)."""
        if drop is None or drop <= 0:
            return self.xp.ones(shape, dtype="f")
        if drop >= 1.0:
            return self.alloc_f(shape)
        coinflips = self.xp.random.uniform(0.0, 1.0, shape)
        mask = (coinflips >= drop) / (1.0 - drop)
        return cast(FloatsXd, self.asarray(mask, dtype="float32"))

    def alloc(
        self, shape: Shape, *, dtype: Optional[DTypes] = "float32", zeros: bool = True
    ) -> Any:
        """A new array of ``shape``: zeros, or uninitialised when zeros=False."""
        if isinstance(shape, int):
            shape = (shape,)
        if zeros:
            return self.xp.zeros(shape, dtype=dtype)
        return self.xp.empty(shape, dtype=dtype)

    def alloc_f(
        self, shape: Shape, *, dtype: Optional[DTypesFloat] = "float32", zeros: bool = True
    ) -> FloatsXd:
        return cast(FloatsXd, self.alloc(shape, dtype=dtype, zeros=zeros))

    def alloc_i(
        self, shape: Shape, *, dtype: Optional[DTypesInt] = "int32", zeros: bool = True
    ) -> IntsXd:
        return cast(IntsXd, self.alloc(shape, dtype=dtype, zeros=zeros))

    def alloc1f(
        self, d0: int, *, dtype: Optional[DTypesFloat] = "float32", zeros: bool = True
    ) -> Floats1d:
        return cast(Floats1d, self.alloc((d0,), dtype=dtype, zeros=zeros))

    def alloc2f(
        self, d0: int, d1: int, *, dtype: Optional[DTypesFloat] = "float32", zeros: bool = True
    ) -> Floats2d:
        return cast(Floats2d, self.alloc((d0, d1), dtype=dtype, zeros=zeros))

    def alloc3f(
        self,
        d0: int,
        d1: int,
        d2: int,
        *,
        dtype: Optional[DTypesFloat] = "float32",
        zeros: bool = True,
    ) -> Floats3d:
        return cast(Floats3d, self.alloc((d0, d1, d2), dtype=dtype, zeros=zeros))

    def alloc4f(
        self,
        d0: int,
        d1: int,
        d2: int,
        d3: int,
        *,
        dtype: Optional[DTypesFloat] = "float32",
        zeros: bool = True,
    ) -> Floats4d:
        return cast(Floats4d, self.alloc((d0, d1, d2, d3), dtype=dtype, zeros=zeros))

    def alloc1i(
        self, d0: int, *, dtype: Optional[DTypesInt] = "int32", zeros: bool = True
    ) -> Ints1d:
        return cast(Ints1d, self.alloc((d0,), dtype=dtype, zeros=zeros))

    def alloc2i(
        self, d0: int, d1: int, *, dtype: Optional[DTypesInt] = "int32", zeros: bool = True
    ) -> Ints2d:
        return cast(Ints2d, self.alloc((d0, d1), dtype=dtype, zeros=zeros))

    def alloc3i(
        self,
        d0: int,
        d1: int,
        d2: int,
        *,
        dtype: Optional[DTypesInt] = "int32",
        zeros: bool = True,
    ) -> Ints3d:
        return cast(Ints3d, self.alloc((d0, d1, d2), dtype=dtype, zeros=zeros))

    def alloc4i(
        self,
        d0: int,
        d1: int,
        d2: int,
        d3: int,
        *,
        dtype: Optional[DTypesInt] = "int32",
        zeros: bool = True,
    ) -> Ints4d:
        return cast(Ints4d, self.alloc((d0, d1, d2, d3), dtype=dtype, zeros=zeros))

    # ------------------------------------------------------------------ reshaping

    def reshape(self, array: ArrayT, shape: Shape) -> ArrayT:
        return array.reshape(shape)  # type: ignore[attr-defined]

    def reshape_f(self, array: FloatsXd, shape: Shape) -> FloatsXd:
        return self.reshape(array, shape)

    def reshape_i(self, array: IntsXd, shape: Shape) -> IntsXd:
        return self.reshape(array, shape)

    def reshape1(self, array: ArrayXd, d0: int) -> Array1d:
        return cast(Array1d, self.reshape(array, (d0,)))

    def reshape2(self, array: ArrayXd, d0: int, d1: int) -> Array2d:
        return cast(Array2d, self.reshape(array, (d0, d1)))

    def reshape3(self, array: ArrayXd, d0: int, d1: int, d2: int) -> Array3d:
        return cast(Array3d, self.reshape(array, (d0, d1, d2)))

    def reshape4(self, array: ArrayXd, d0: int, d1: int, d2: int, d3: int) -> Array4d:
        return cast(Array4d, self.reshape(array, (d0, d1, d2, d3)))

    def reshape1f(self, array: FloatsXd, d0: int) -> Floats1d:
        return cast(Floats1d, self.reshape(array, (d0,)))

    def reshape2f(self, array: FloatsXd, d0: int, d1: int) -> Floats2d:
        return cast(Floats2d, self.reshape(array, (d0, d1)))

    def reshape3f(self, array: FloatsXd, d0: int, d1: int, d2: int) -> Floats3d:
        return cast(Floats3d, self.reshape(array, (d0, d1, d2)))

    def reshape4f(self, array: FloatsXd, d0: int, d1: int, d2: int, d3: int) -> Floats4d:
        return cast(Floats4d, self.reshape(array, (d0, d1, d2, d3)))

    def reshape1i(self, array: IntsXd, d0: int) -> Ints1d:
        return cast(Ints1d, self.reshape(array, (d0,)))

    def reshape2i(self, array: IntsXd, d0: int, d1: int) -> Ints2d:
        return cast(Ints2d, self.reshape(array, (d0, d1)))

    def reshape3i(self, array: IntsXd, d0: int, d1: int, d2: int) -> Ints3d:
        return cast(Ints3d, self.reshape(array, (d0, d1, d2)))

    def reshape4i(self, array: IntsXd, d0: int, d1: int, d2: int, d3: int) -> Ints4d:
        return cast(Ints4d, self.reshape(array, (d0, d1, d2, d3)))

    # ------------------------------------------------------------------ conversion

    def asarray(
        self,
        data: Union[ArrayXd, Sequence[ArrayXd], Sequence[Any]],
        *,
        dtype: Optional[DTypes] = None,
    ) -> ArrayXd:
        """``data`` as an array of this backend (the same object when it already
        is one of the wanted dtype). Accepts lists, numpy, cupy and torch arrays."""
        xp = self.xp
        if isinstance(data, xp.ndarray):
            if dtype is None:
                return data
            return data.astype(dtype, copy=False)
        if is_torch_array(data):
            data = cast(Any, data).detach().cpu().numpy()
        elif is_cupy_array(data) and xp is numpy:
            data = cast(Any, data).get()
        elif hasattr(data, "numpy") and not isinstance(data, (list, tuple)):
            data = data.numpy()
        if isinstance(data, (list, tuple)) and any(is_cupy_array(item) for item in data):
            data = [item.get() if is_cupy_array(item) else item for item in data]
        if dtype is None:
            return xp.asarray(data)
        return xp.asarray(data, dtype=dtype)

    def asarray_f(
        self, data: Union[FloatsXd, Sequence[Any]], *, dtype: Optional[DTypes] = "float32"
    ) -> FloatsXd:
        return cast(FloatsXd, self.asarray(data, dtype=dtype))

    def asarray_i(
        self, data: Union[IntsXd, Sequence[Any]], *, dtype: Optional[DTypes] = "int32"
    ) -> IntsXd:
        return cast(IntsXd, self.asarray(data, dtype=dtype))

    def asarray1f(
        self, data: Union[Floats1d, Sequence[float]], *, dtype: Optional[DTypes] = "float32"
    ) -> Floats1d:
        return cast(Floats1d, self.asarray(data, dtype=dtype))

    def asarray2f(
        self,
        data: Union[Floats2d, Sequence[Sequence[float]]],
        *,
        dtype: Optional[DTypes] = "float32",
    ) -> Floats2d:
        return cast(Floats2d, self.asarray(data, dtype=dtype))

    def asarray3f(
        self,
        data: Union[Floats3d, Sequence[Sequence[Sequence[float]]]],
        *,
        dtype: Optional[DTypes] = "float32",
    ) -> Floats3d:
        return cast(Floats3d, self.asarray(data, dtype=dtype))

    def asarray4f(
        self,
        data: Union[Floats4d, Sequence[Sequence[Sequence[Sequence[float]]]]],
        *,
        dtype: Optional[DTypes] = "float32",
    ) -> Floats4d:
        return cast(Floats4d, self.asarray(data, dtype=dtype))

    def asarray1i(
        self, data: Union[Ints1d, Sequence[int]], *, dtype: Optional[DTypes] = "int32"
    ) -> Ints1d:
        return cast(Ints1d, self.asarray(data, dtype=dtype))

    def asarray2i(
        self, data: Union[Ints2d, Sequence[Sequence[int]]], *, dtype: Optional[DTypes] = "int32"
    ) -> Ints2d:
        return cast(Ints2d, self.asarray(data, dtype=dtype))

    def asarray3i(
        self,
        data: Union[Ints3d, Sequence[Sequence[Sequence[int]]]],
        *,
        dtype: Optional[DTypes] = "int32",
    ) -> Ints3d:
        return cast(Ints3d, self.asarray(data, dtype=dtype))

    def asarray4i(
        self,
        data: Union[Ints4d, Sequence[Sequence[Sequence[Sequence[int]]]]],
        *,
        dtype: Optional[DTypes] = "int32",
    ) -> Ints4d:
        return cast(Ints4d, self.asarray(data, dtype=dtype))

    def as_contig(self, data: ArrayT, dtype: Optional[DTypes] = None) -> ArrayT:
        """``data`` as a C-contiguous array (itself when it already is one)."""
        array = cast(Any, data)
        if array.flags["C_CONTIGUOUS"] and (dtype is None or array.dtype == dtype):
            return data
        kwargs = {"dtype": dtype} if dtype is not None else {}
        return self.xp.ascontiguousarray(array, **kwargs)
