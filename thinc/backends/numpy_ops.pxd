# NumpyOps is a plain Python subclass of Ops; compiled kernels stay private
# to numpy_ops.pyx, so nothing here is part of the binary interface.
