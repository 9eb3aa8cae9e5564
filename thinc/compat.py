"""PLACEHOLDER (owned by the types/util helper): optional framework detection."""
cupy = None
has_cupy = False
has_cupy_gpu = False
has_gpu = False
