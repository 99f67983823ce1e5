"""Shared thread-safety primitives. Modules use these instead of writing their own locks."""
