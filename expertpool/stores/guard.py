"""Backend errors become ours where the backend is touched (httpx's `map_httpcore_exceptions` is
the model): each store method is wrapped so that the backend's failures leave it as a
`StoreFailed` (or subclass) with a message, and callers catch only our own errors."""
from __future__ import annotations

import functools
import inspect
from collections.abc import Callable


def translated(errors: type[BaseException] | tuple[type[BaseException], ...],
               translate: Callable[[object, BaseException], Exception]) -> Callable:
    """A decorator for store methods (generator methods too): `errors` raised inside become
    `translate(store, exc)`, raised without the backend's traceback chained on."""
    def decorate(fn):
        if inspect.isgeneratorfunction(fn):
            @functools.wraps(fn)
            def gen(self, *args, **kwargs):
                try:
                    yield from fn(self, *args, **kwargs)
                except errors as exc:
                    raise translate(self, exc) from None
            return gen

        @functools.wraps(fn)
        def wrapper(self, *args, **kwargs):
            try:
                return fn(self, *args, **kwargs)
            except errors as exc:
                raise translate(self, exc) from None
        return wrapper
    return decorate
