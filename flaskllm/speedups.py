"""Work that connexion 3 repeats on every request although it depends only on the operation,
done once instead. Profiled under load (bench/, README "Benchmark"), these were a third of the
CPU of a cache-hit request:

- ``AsyncOperation.fn`` builds a new decorator around the handler on each call, and that
  decorator's wrapper decorates the handler again on each call (parameter and response
  decorators, ``inspect.signature`` of the handler, ``functools.wraps``...).
- The security handler inspects the token function's signature on each call.
- ``body_definition`` rebuilds the operation's body definition (a media-type match with
  ``fnmatch`` and a copy with the definitions) several times per request.
- The JSON body validator compiles a jsonschema validator for the schema on each request.

Nothing here changes what is validated or how: the same objects are built from the same
inputs, once. Each patch checks the shape it expects and is skipped when connexion changed
(``applied()`` lists what took; tests/test_speedups.py notices a skipped one).
"""

from __future__ import annotations

import functools
import logging
import threading
import weakref

from connexion.datastructures import MediaTypeDict
from connexion.validators import VALIDATOR_MAP, JSONRequestBodyValidator

log = logging.getLogger("flaskllm.speedups")
_applied: list[str] = []
_lock = threading.Lock()


def applied() -> list[str]:
    return list(_applied)


def install() -> None:
    """Apply the patches (once per process; later calls do nothing)."""
    with _lock:
        if _applied:
            return
        for patch in (_decorate_once, _inspect_once, _body_definition_once):
            try:
                if patch():
                    _applied.append(patch.__name__)
            except Exception:  # a connexion we do not know: run unpatched, never fail
                log.warning("connexion speed-up %s not applied", patch.__name__, exc_info=True)
        _applied.append("validator_map")  # see validator_map(): passed to add_api


def _decorate_once() -> bool:
    from connexion.apps.asynchronous import AsyncOperation
    from connexion.decorators.main import BaseDecorator

    original_fn = AsyncOperation.__dict__.get("fn")
    original_decorate = BaseDecorator.__dict__.get("decorate")
    if not isinstance(original_fn, property) or original_decorate is None:
        return False

    def fn(self):
        decorated = self.__dict__.get("_flaskllm_fn")
        if decorated is None:
            decorated = self.__dict__["_flaskllm_fn"] = original_fn.fget(self)
        return decorated

    @functools.wraps(original_decorate)
    def decorate(self, function):
        # The decorators read the operation and request from connexion's context variables
        # when called, not when built: one decorated function serves every request.
        memo = self.__dict__.setdefault("_flaskllm_decorated", {})
        decorated = memo.get(function)
        if decorated is None:
            decorated = memo[function] = original_decorate(self, function)
        return decorated

    AsyncOperation.fn = property(fn)
    BaseDecorator.decorate = decorate
    return True


def _inspect_once() -> bool:
    from connexion import security

    original = getattr(security, "inspect_function_arguments", None)
    if original is None:
        return False
    security.inspect_function_arguments = functools.lru_cache(maxsize=256)(original)
    return True


def _body_definition_once() -> bool:
    from connexion.operations.openapi import OpenAPIOperation

    original = OpenAPIOperation.__dict__.get("body_definition")
    if original is None:
        return False
    # Keyed by operation (weakly: tests build many apps) and content type. Callers do not
    # mutate the definition (connexion only reads it).
    memo: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    @functools.wraps(original)
    def body_definition(self, content_type=None):
        per_operation = memo.get(self)
        if per_operation is None:
            per_operation = memo[self] = {}
        found = per_operation.get(content_type)
        if found is None:
            found = original(self, content_type)
            if len(per_operation) < 16:  # content types come from clients: keep it bounded
                per_operation[content_type] = found
        return found

    OpenAPIOperation.body_definition = body_definition
    return True


class CachedMediaTypeDict(MediaTypeDict):
    """connexion's media-type lookup (a sort and ``fnmatch`` per key, per request), memoized
    per media type."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._memo: dict = {}

    def __getitem__(self, item):
        try:
            return self._memo[item]
        except KeyError:
            value = super().__getitem__(item)
            if len(self._memo) < 64:  # media types come from clients: keep it bounded
                self._memo[item] = value
            return value


class CompiledJSONBodyValidator(JSONRequestBodyValidator):
    """The JSON body validator with its jsonschema validator compiled once per schema, and
    the body parsed once: by RequestBodyMiddleware, strictly (flaskllm/strictjson.py)."""

    async def _parse(self, stream, scope):
        from flaskllm.strictjson import parsed_body

        raw = b"".join([chunk async for chunk in stream])
        found, value = parsed_body(scope, raw)
        if found:
            return value

        async def again():
            yield raw

        return await super()._parse(again(), scope)

    _compiled: dict[int, tuple[dict, object]] = {}

    @property
    def _validator(self):
        entry = self._compiled.get(id(self._schema))
        # The schema object is kept in the entry, so its id cannot be reused by another.
        if entry is None or entry[0] is not self._schema:
            if len(self._compiled) > 1024:  # schemas are per operation: this never grows
                self._compiled.clear()
            entry = self._compiled[id(self._schema)] = (self._schema, super()._validator)
        return entry[1]


def validator_map() -> dict:
    """The ``validator_map`` for ``add_api``: connexion's, with the JSON body validator
    compiled once and media types looked up once."""
    body = dict(VALIDATOR_MAP["body"])
    body["*/*json"] = CompiledJSONBodyValidator
    return {"body": CachedMediaTypeDict(body)}
