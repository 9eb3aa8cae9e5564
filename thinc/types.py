"""PLACEHOLDER (owned by the types/util helper)."""
