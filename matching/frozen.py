"""A faster __init__ for frozen slotted dataclasses.

The __init__ that `dataclasses` writes for a frozen class stores each field with
`object.__setattr__(self, name, value)`, which costs about 100 ns a field on
CPython 3.11 (1.4 µs for a 14-field event, most of a matching operation's
budget). `fast_init` replaces it with one that stores the arguments straight
into the slots: in C where the package was built with its extension
(matching/_frozen_init.c), else in Python through each slot's own descriptor. In C,
calling the class also skips type.__call__: the instance is allocated and filled in
one call, and freeing it releases its slots without the generic deallocator's checks.
The class stays an ordinary frozen dataclass: fields(), repr, equality, hashing,
keywords, kw_only fields, defaults and default factories, the TypeErrors of a bad
call and the FrozenInstanceError on assignment are unchanged.
"""

from __future__ import annotations

import dataclasses
import inspect
import operator
import warnings
from typing import Callable, TypeVar

try:
    from matching import _frozen_init
except ImportError:  # installed without a C compiler: the Python fallback below
    _frozen_init = None
if _frozen_init is not None and getattr(_frozen_init, "API_VERSION", None) != 6:
    # A failed compile leaves the previous build in place; one from older C may take other arguments.
    warnings.warn("matching/_frozen_init was built from an older source; using the slower Python __init__: "
                  "run `make install` to rebuild it", RuntimeWarning, stacklevel=2)
    _frozen_init = None
slot_initializer = None if _frozen_init is None else _frozen_init.slot_initializer
install_constructor = None if _frozen_init is None else _frozen_init.install_constructor
install_deallocator = None if _frozen_init is None else _frozen_init.install_deallocator
slot_reader = None if _frozen_init is None else _frozen_init.slot_reader
# For the compiled book (matching/book.py), which keeps a SortedDict's dict and key list in step itself:
# dict.__setitem__ / __delitem__ past a dict subclass's own, in one C call where the extension is built.
# How many freed instances of a class the C deallocator keeps to build its next ones (0 without it).
spare_instances = (lambda cls: 0) if _frozen_init is None else _frozen_init.spare_instances
dict_set_item = dict.__setitem__ if _frozen_init is None else _frozen_init.dict_set_item
dict_del_item = dict.__delitem__ if _frozen_init is None else _frozen_init.dict_del_item

T = TypeVar("T")

NATIVE = slot_initializer is not None
_REQUIRED = object()  # marks a field without a default for the C __init__


def fast_init(cls: type[T]) -> type[T]:
    signature = inspect.signature(cls.__init__)
    init = native_init(cls) if NATIVE else python_init(cls)
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__doc__ = f"Faster equivalent of the dataclass-generated {cls.__name__}.__init__."
    init.__signature__ = signature  # what inspect and help() show: the dataclass's own
    cls.__init__ = init  # type: ignore[misc]
    if NATIVE:
        # Calling the class then builds the instance in one C call: type.__call__ would pack the
        # arguments into a tuple, look __init__ up and call it bound, about half an event's cost.
        install_constructor(cls)
        # Freeing it releases its slots and nothing else: the generic deallocator's checks for weak
        # references, finalizers and a __dict__ (which these classes cannot have) cost as much again.
        install_deallocator(cls)
    return cls


def field_reader(cls: type, *names: str) -> Callable[[object], tuple]:
    """A reader of several fields at once: reader(instance) -> their values, in the order named.

    The compiled matching core reads a command's fields this way: each read of one by name is a generic
    attribute lookup there (about 130 machine instructions), the C reader a few for all of them.
    Without the C extension it is operator.attrgetter, the same answer.
    """
    if len(names) < 2:
        raise TypeError("field_reader needs at least two field names (one is just an attribute read)")
    known = {field.name for field in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = [name for name in names if name not in known]
    if unknown:
        raise TypeError(f"{cls.__name__} has no field {unknown[0]!r}")
    if slot_reader is not None:
        return slot_reader(cls, names, tuple(_slot(cls, name) for name in names))
    return operator.attrgetter(*names)


def native_init(cls: type) -> object:
    """The C __init__: arguments bound as the dataclass binds them, then stored into the slots."""
    fields, positional = _init_fields(cls)
    return slot_initializer(
        cls, tuple(f.name for f in fields),
        tuple(_REQUIRED if f.default is dataclasses.MISSING else f.default for f in fields),
        tuple(None if f.default_factory is dataclasses.MISSING else f.default_factory for f in fields),
        _REQUIRED, tuple(_slot(cls, f.name) for f in fields), positional)


def python_init(cls: type):
    """The same __init__ in Python: each field stored through its slot's descriptor (about 60% of the
    dataclass's time)."""
    fields, positional = _init_fields(cls)
    namespace: dict[str, object] = {"_REQUIRED": _REQUIRED}
    parameters = []
    body = []
    for index, field in enumerate(fields):
        if index == positional:
            parameters.append("*")
        namespace[f"_set_{field.name}"] = _slot(cls, field.name).__set__
        if field.default_factory is not dataclasses.MISSING:
            namespace[f"_factory_{field.name}"] = field.default_factory
            parameters.append(f"{field.name}=_REQUIRED")
            body.append(f"    _set_{field.name}(self, _factory_{field.name}() if {field.name} is _REQUIRED "
                        f"else {field.name})\n")
            continue
        if field.default is dataclasses.MISSING:
            parameters.append(field.name)
        else:
            namespace[f"_default_{field.name}"] = field.default
            parameters.append(f"{field.name}=_default_{field.name}")
        body.append(f"    _set_{field.name}(self, {field.name})\n")
    source = f"def __init__(self, {', '.join(parameters)}):\n{''.join(body) or '    pass' + chr(10)}"
    exec(source, namespace)
    return namespace["__init__"]


def _init_fields(cls: type) -> tuple[list[dataclasses.Field], int]:
    """The fields in the dataclass __init__'s order (kw_only ones last), and how many may be positional."""
    fields = dataclasses.fields(cls)  # type: ignore[arg-type]
    for field in fields:
        if not field.init:
            raise TypeError(f"{cls.__name__}.{field.name}: fast_init does not support init=False fields")
    if hasattr(cls, "__post_init__"):
        raise TypeError(f"{cls.__name__}: fast_init does not call __post_init__")
    positional = [f for f in fields if not f.kw_only]
    return positional + [f for f in fields if f.kw_only], len(positional)


def _slot(cls: type, name: str):
    for klass in cls.__mro__:
        descriptor = klass.__dict__.get(name)
        if descriptor is not None:
            return descriptor
    raise TypeError(f"{cls.__name__} has no slot {name!r}")
