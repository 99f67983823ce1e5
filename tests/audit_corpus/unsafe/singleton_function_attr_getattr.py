# expect: singleton-function-attr
"""Same with getattr(..., None)."""


def load_model():
    if getattr(load_model, "_model", None) is None:
        load_model._model = object()
    return load_model._model
