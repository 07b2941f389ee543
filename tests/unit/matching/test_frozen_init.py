"""matching.frozen: the fast __init__ of the frozen slotted dataclasses (events, commands, journal entries)
binds and stores exactly as the dataclass's own __init__ does, in C and in the Python fallback alike."""

from __future__ import annotations

import dataclasses
import gc
import inspect
import os
import pickle
import shutil
import subprocess
import sys
import weakref
from pathlib import Path

import pytest

import matching.commands
import matching.events
import marketdata.model
import reporting.command_journal
import reporting.journal
import reporting.records
from matching import frozen


@dataclasses.dataclass(frozen=True, slots=True)
class _Base:
    sequence: int
    timestamp_ns: int


@dataclasses.dataclass(frozen=True, slots=True)
class _Plain(_Base):
    """The dataclass as `dataclasses` builds it: the behaviour to match."""

    symbol: str
    price: int | None = None
    text: str = ""
    detail: dict = dataclasses.field(default_factory=dict, kw_only=True, hash=False)
    flag: bool = dataclasses.field(default=False, kw_only=True)


# The same fields (inherited), each with one fast __init__ in place of the dataclass's own.
@dataclasses.dataclass(frozen=True, slots=True)
class FastInPython(_Plain):
    pass


FastInPython.__init__ = frozen.python_init(FastInPython)
IMPLEMENTATIONS = [pytest.param(FastInPython, id="python")]

if frozen.NATIVE:
    @dataclasses.dataclass(frozen=True, slots=True)
    class FastInC(_Plain):
        pass

    FastInC.__init__ = frozen.native_init(FastInC)
    IMPLEMENTATIONS.append(pytest.param(FastInC, id="c"))

    # As fast_init leaves a class: calling the class also builds the instance in C, past type.__call__.
    @dataclasses.dataclass(frozen=True, slots=True)
    class BuiltInC(_Plain):
        pass

    BuiltInC.__init__ = frozen.native_init(BuiltInC)
    assert frozen.install_constructor(BuiltInC)
    assert frozen.install_deallocator(BuiltInC)
    IMPLEMENTATIONS.append(pytest.param(BuiltInC, id="c-constructor"))


IMPLEMENTATIONS_BY_ID = [(param.id, param.values[0]) for param in IMPLEMENTATIONS]


@pytest.fixture(params=IMPLEMENTATIONS)
def fast(request):
    return request.param


def _values(instance) -> tuple:
    return tuple(getattr(instance, f.name) for f in dataclasses.fields(instance))


CALLS = [
    ((1, 2, "AAPL"), {}),
    ((1, 2, "AAPL", 19000), {}),
    ((1, 2, "AAPL", 19000, "why"), {}),
    ((1,), {"timestamp_ns": 2, "symbol": "MSFT"}),
    ((), {"text": "t", "symbol": "IBM", "timestamp_ns": 5, "sequence": 4}),
    ((1, 2), {"symbol": "GOOG", "text": "only the text"}),
    ((1, 2, "AAPL"), {"detail": {"a": 1}, "flag": True}),
    ((), {"flag": True, "sequence": 1, "timestamp_ns": 2, "symbol": "TSLA", "price": 5}),
]


@pytest.mark.parametrize(("args", "kwargs"), CALLS)
def test_arguments_bind_as_the_dataclass_binds_them(fast, args, kwargs):
    assert _values(fast(*args, **kwargs)) == _values(_Plain(*args, **kwargs))


BAD_CALLS = [
    ((1, 2), {}),  # symbol missing
    ((), {}),
    ((1, 2, "AAPL", 1, "t", "extra"), {}),
    ((1, 2, "AAPL"), {"colour": "red"}),
    ((1, 2, "AAPL"), {"sequence": 9}),  # given twice
    ((1, 2, "AAPL", 1, "t", {}), {}),  # detail is keyword-only
]


@pytest.mark.parametrize(("args", "kwargs"), BAD_CALLS)
def test_a_call_the_dataclass_refuses_is_refused_with_a_type_error(fast, args, kwargs):
    with pytest.raises(TypeError):
        _Plain(*args, **kwargs)
    with pytest.raises(TypeError, match="__init__"):
        fast(*args, **kwargs)


def test_the_instance_stays_frozen_hashable_and_equal_by_value(fast):
    made = fast(1, 2, "AAPL", 19000)
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.price = 1  # type: ignore[misc]
    assert made == fast(1, 2, "AAPL", 19000) and hash(made) == hash(fast(1, 2, "AAPL", 19000))
    assert made != fast(1, 2, "AAPL", 19001)
    assert repr(made).endswith("(sequence=1, timestamp_ns=2, symbol='AAPL', price=19000, text='', detail={}, "
                               "flag=False)")


def test_replace_and_pickle_go_through_it_unchanged(fast):
    made = fast(1, 2, "AAPL", 19000)
    assert _values(dataclasses.replace(made, text="changed")) == (1, 2, "AAPL", 19000, "changed", {}, False)
    assert pickle.loads(pickle.dumps(made)) == made


def test_a_default_factory_makes_a_new_value_for_each_instance(fast):
    first, second = fast(1, 2, "AAPL"), fast(1, 2, "AAPL")
    assert first.detail == {} and first.detail is not second.detail


def test_a_failing_default_factory_fails_the_call_and_leaks_nothing():
    def refuse():
        raise LookupError("no default today")

    for make_init, constructor in ([(frozen.python_init, False), (frozen.native_init, False),
                                    (frozen.native_init, True)] if frozen.NATIVE else [(frozen.python_init, False)]):
        @dataclasses.dataclass(frozen=True, slots=True)
        class Refusing:
            held: object
            made: object = dataclasses.field(default_factory=refuse)

        Refusing.__init__ = make_init(Refusing)
        if constructor:
            frozen.install_constructor(Refusing)
        held = object()
        before = sys.getrefcount(held)
        for _ in range(50):
            with pytest.raises(LookupError, match="no default today"):
                Refusing(held)
        assert sys.getrefcount(held) == before


def test_initialising_again_releases_the_values_it_replaces(fast):
    held = object()
    made = fast(1, 2, "AAPL", None, held)
    before = sys.getrefcount(held)
    for _ in range(100):
        type(made).__init__(made, 1, 2, "AAPL", None, "other")
        type(made).__init__(made, 1, 2, "AAPL", None, held)
    assert sys.getrefcount(held) == before


def test_instances_built_and_dropped_leave_their_values_as_they_were(fast):
    held = object()
    before = sys.getrefcount(held)
    for _ in range(100):
        made = fast(1, 2, "AAPL", None, held)
        assert made.text is held
    del made
    assert sys.getrefcount(held) == before


def _native_only() -> None:
    if not frozen.NATIVE:
        pytest.skip("the C __init__ is not built here (no C compiler at install)")


def test_a_subclass_of_a_class_built_in_c_is_built_the_ordinary_way():
    _native_only()

    class Tagged(dict(IMPLEMENTATIONS_BY_ID)["c-constructor"]):  # a plain subclass: it gains a __dict__
        pass

    made = Tagged(1, 2, "AAPL", 7)
    made.__dict__["tag"] = "kept"  # only a real Tagged instance has somewhere to put it
    assert type(made) is Tagged and _values(made) == _values(_Plain(1, 2, "AAPL", 7)) and made.tag == "kept"


def test_an_init_assigned_after_the_constructor_is_the_one_that_runs():
    _native_only()

    @dataclasses.dataclass(frozen=True, slots=True)
    class Reassigned:
        value: int

    Reassigned.__init__ = frozen.native_init(Reassigned)
    frozen.install_constructor(Reassigned)
    assert Reassigned(1).value == 1

    def doubled(self, value):
        object.__setattr__(self, "value", value * 2)

    Reassigned.__init__ = doubled
    assert Reassigned(4).value == 8
    with pytest.raises(TypeError):
        Reassigned(4, 5)


def test_classes_made_and_dropped_one_after_another_each_build_with_their_own_init():
    # The constructor remembers each class's __init__ by class and version tag; a class freed and another made
    # in its memory must not find the old one's.
    _native_only()
    for n in range(300):
        @dataclasses.dataclass(frozen=True, slots=True)
        class Passing:
            value: int
            doubled: bool = False

        Passing.__init__ = frozen.native_init(Passing)
        assert frozen.install_constructor(Passing) and frozen.install_deallocator(Passing)
        made = Passing(n, doubled=n % 2 == 0)
        assert type(made) is Passing and (made.value, made.doubled) == (n, n % 2 == 0)
        del made, Passing
        gc.collect()


def test_the_constructor_is_installed_only_where_calling_the_class_would_use_it():
    _native_only()

    class Meta(type):
        pass

    class WithMetaclass(metaclass=Meta):
        __slots__ = ("value",)

    assert frozen.install_constructor(WithMetaclass) is False
    assert frozen.install_constructor(int) is False  # defined in C: it has its own
    with pytest.raises(TypeError, match="takes a class"):
        frozen.install_constructor(object())


class _Marker:
    """A value whose release a test can see (a weak reference to it dies)."""


def test_dropping_instances_releases_their_fields_and_their_class_once_each():
    _native_only()
    cls = dict(IMPLEMENTATIONS_BY_ID)["c-constructor"]
    held = _Marker()
    spares = frozen.spare_instances
    before = sys.getrefcount(held), sys.getrefcount(cls) - spares(cls)  # each spare holds its class
    for _ in range(100):
        made = cls(1, 2, "AAPL", held, held, detail={"k": held}, flag=held)
    del made
    assert (sys.getrefcount(held), sys.getrefcount(cls) - spares(cls)) == before
    last = weakref.ref(held)
    cls(1, 2, "AAPL", held)
    del held
    assert last() is None


def test_a_subclass_instance_releases_its_own_slots_its_dict_and_its_bases_fields():
    _native_only()

    class Tagged(dict(IMPLEMENTATIONS_BY_ID)["c-constructor"]):  # gains a __dict__ and weak references
        pass

    @dataclasses.dataclass(frozen=True, slots=True)
    class Extended(dict(IMPLEMENTATIONS_BY_ID)["c-constructor"]):
        extra: object = None

    held, own = _Marker(), _Marker()
    assert frozen.spare_instances(Tagged) == frozen.spare_instances(Extended) == 0  # subclasses keep none
    before = sys.getrefcount(held), sys.getrefcount(own), sys.getrefcount(Tagged), sys.getrefcount(Extended)
    for _ in range(100):
        tagged = Tagged(1, 2, "AAPL", held, held)
        tagged.__dict__["tag"] = own
        watched = weakref.ref(tagged)
        del tagged
        assert watched() is None
        extended = Extended(1, 2, "AAPL", held, extra=own)
        assert extended.extra is own and extended.price is held
        del extended
    assert (sys.getrefcount(held), sys.getrefcount(own), sys.getrefcount(Tagged),
            sys.getrefcount(Extended)) == before


def _spare_class() -> type:
    @dataclasses.dataclass(frozen=True, slots=True)
    class Spared:
        value: object
        items: list = dataclasses.field(default_factory=list, kw_only=True)

    Spared.__init__ = frozen.native_init(Spared)
    assert frozen.install_constructor(Spared) and frozen.install_deallocator(Spared)
    return Spared


def test_a_freed_instance_is_built_again_with_nothing_of_its_old_values():
    _native_only()
    spared = _spare_class()
    first = spared(_Marker(), items=[1])
    first_id = id(first)
    del first
    assert frozen.spare_instances(spared) == 1
    again = spared(7)
    assert id(again) == first_id and frozen.spare_instances(spared) == 0
    assert again.value == 7 and again.items == [] and again == spared(7)
    assert gc.is_tracked(again)


def test_spare_instances_are_bounded_and_a_class_with_spares_is_still_collected():
    _native_only()
    spared = _spare_class()
    made = [spared(n) for n in range(200)]
    del made
    assert frozen.spare_instances(spared) == 64
    gone = weakref.ref(spared)
    del spared
    gc.collect()
    assert gone() is None


def test_a_failed_build_from_a_spare_frees_it_again():
    _native_only()
    spared = _spare_class()
    spared(1)  # built and dropped at once
    assert frozen.spare_instances(spared) == 1
    with pytest.raises(TypeError):
        spared()
    assert frozen.spare_instances(spared) == 1 and spared(2).value == 2


def test_an_init_replaced_while_an_instance_is_released_frees_everything_once():
    # Releasing a field can run any code: here it drops the class's C __init__ while the deallocator is using
    # its field offsets, and that __init__ goes (with the instance it was about to keep) when the release ends.
    _native_only()
    spared = _spare_class()

    def plain_init(self, value, *, items=None):
        object.__setattr__(self, "value", value)
        object.__setattr__(self, "items", [] if items is None else items)

    class Replacer:
        def __del__(self):
            spared.__init__ = plain_init

    instance = spared(Replacer())
    before = sys.getrefcount(spared)
    del instance
    assert spared.__init__ is plain_init
    # Two references fewer: the instance's, and the C __init__'s (freed, and the instance with it, not kept)
    assert sys.getrefcount(spared) == before - 2
    again = spared(5, items=[1])
    assert (again.value, again.items) == (5, [1])


def test_a_slot_that_is_no_field_is_released_too():
    _native_only()

    class WithExtra:
        __slots__ = ("extra",)

    @dataclasses.dataclass(frozen=True, slots=True)
    class Child(WithExtra):
        value: object

    Child.__init__ = frozen.native_init(Child)
    assert frozen.install_constructor(Child) and frozen.install_deallocator(Child)
    child = Child(_Marker())
    object.__setattr__(child, "extra", _Marker())
    value, extra = weakref.ref(child.value), weakref.ref(child.extra)
    del child
    assert value() is None and extra() is None


def test_an_instance_in_a_reference_cycle_is_collected():
    _native_only()
    cls = dict(IMPLEMENTATIONS_BY_ID)["c-constructor"]
    box, marker = [], _Marker()
    box.append(cls(1, 2, "AAPL", box, marker))
    gone = weakref.ref(marker)
    del box, marker
    gc.collect()
    assert gone() is None


def test_a_finalizer_assigned_after_the_deallocator_still_runs():
    _native_only()

    @dataclasses.dataclass(frozen=True, slots=True)
    class Finalized:
        value: object

    Finalized.__init__ = frozen.native_init(Finalized)
    frozen.install_constructor(Finalized)
    assert frozen.install_deallocator(Finalized)
    finalized = []
    Finalized.__del__ = lambda self: finalized.append(self.value)
    held = _Marker()
    before = sys.getrefcount(held)
    Finalized(held)
    assert finalized == [held]
    finalized.clear()
    assert sys.getrefcount(held) == before


def test_the_deallocator_is_installed_only_on_classes_with_nothing_but_slots():
    _native_only()

    class WithDict:
        pass

    class WithWeakReferences:
        __slots__ = ("value", "__weakref__")

    class WithFinalizer:
        __slots__ = ("value",)

        def __del__(self) -> None:
            pass

    class Meta(type):
        pass

    class WithMetaclass(metaclass=Meta):
        __slots__ = ("value",)

    class OverAListSubclass(list):
        __slots__ = ("value",)

    for cls in (WithDict, WithWeakReferences, WithFinalizer, WithMetaclass, OverAListSubclass, int):
        assert frozen.install_deallocator(cls) is False, cls
    with pytest.raises(TypeError, match="takes a class"):
        frozen.install_deallocator(object())


def test_the_init_refuses_an_instance_of_another_class():
    if not frozen.NATIVE:
        pytest.skip("the C __init__ is not built here (no C compiler at install)")
    with pytest.raises(TypeError, match="called on a _Plain"):
        FastInC.__init__(_Plain(1, 2, "AAPL"), 1, 2, "AAPL")


def test_fast_init_refuses_what_it_cannot_do_like_the_dataclass():
    @dataclasses.dataclass(frozen=True, slots=True)
    class WithoutInit:
        items: list = dataclasses.field(default_factory=list, init=False)

    @dataclasses.dataclass(frozen=True, slots=True)
    class WithPostInit:
        value: int

        def __post_init__(self) -> None:
            pass

    for cls in (WithoutInit, WithPostInit):
        with pytest.raises(TypeError, match="fast_init"):
            frozen.fast_init(cls)


def _fast_classes() -> list[type]:
    found = []
    for module in (matching.events, matching.commands, reporting.command_journal, reporting.records,
                   reporting.journal, marketdata.model):
        for value in vars(module).values():
            if (isinstance(value, type) and dataclasses.is_dataclass(value) and value.__module__ == module.__name__
                    and "Faster equivalent" in (value.__init__.__doc__ or "")):
                found.append(value)
    return found


@pytest.mark.parametrize("cls", _fast_classes(), ids=lambda cls: cls.__name__)
def test_every_event_command_record_and_journal_entry_stores_each_argument_in_its_own_field(cls):
    fields = dataclasses.fields(cls)
    markers = {f.name: object() for f in fields}
    made = cls(**markers)
    assert {f.name: getattr(made, f.name) for f in fields} == markers
    assert inspect.signature(cls) == inspect.signature(_as_dataclasses_builds_it(cls))


def _as_dataclasses_builds_it(cls: type) -> type:
    """The same class with the __init__ `dataclasses` writes, for its signature."""
    def spec(f: dataclasses.Field) -> tuple:
        return f.name, f.type, dataclasses.field(default=f.default, default_factory=f.default_factory,
                                                 kw_only=f.kw_only)

    return dataclasses.make_dataclass(cls.__name__, [spec(f) for f in dataclasses.fields(cls)], frozen=True,
                                      slots=True)


def test_the_project_found_classes_to_check():
    assert len(_fast_classes()) >= 30


def test_the_c_init_is_built_where_the_suite_must_run_everything(missing_build):
    if not frozen.NATIVE:
        missing_build("matching._frozen_init is not built: events fall back to the slower Python __init__ "
                      "(install with a C compiler: make install)")
    assert type(matching.events.OrderAccepted.__init__).__name__ == "SlotInit"


def test_a_c_init_built_from_older_source_is_not_used_and_the_python_one_runs(tmp_path):
    package = Path(frozen.__file__).resolve().parent
    copy = tmp_path / "copy" / "matching"
    shutil.copytree(package, copy, ignore=shutil.ignore_patterns("__pycache__", "*.c", "_frozen_init*"))
    # What an older build looks like from Python: no API_VERSION, a slot_initializer of other arguments.
    (copy / "_frozen_init.py").write_text("def slot_initializer(*args):\n    raise TypeError('old build')\n")
    probe = ("import matching.frozen as f, matching.events as e\n"
             "print(f.NATIVE, e.OrderAccepted(1, 2, 3, 's', 'f', 'c', 'AAPL', None, None, None, 1, 2, None, None))")
    result = subprocess.run([sys.executable, "-c", probe], cwd=copy.parent, capture_output=True, text=True,
                            timeout=60, env={**os.environ, "PYTHONPATH": str(copy.parent)})
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("False OrderAccepted(sequence=1")
    assert "built from an older source" in result.stderr and "make install" in result.stderr


@pytest.mark.parametrize("cls", [param.values[0] for param in IMPLEMENTATIONS] + [_Plain],
                         ids=[param.id for param in IMPLEMENTATIONS] + ["dataclass"])
def test_a_field_reader_gives_the_named_fields_in_the_order_named(cls):
    made = cls(1, 2, "AAPL", 19000, "why", detail={"a": 1}, flag=True)
    reader = frozen.field_reader(cls, "text", "sequence", "detail", "price", "flag")
    assert reader(made) == ("why", 1, {"a": 1}, 19000, True)
    assert reader(made)[2] is made.detail


def test_a_field_reader_refuses_names_the_class_does_not_have_and_a_single_name():
    with pytest.raises(TypeError, match="no field 'colour'"):
        frozen.field_reader(_Plain, "symbol", "colour")
    with pytest.raises(TypeError, match="at least two"):
        frozen.field_reader(_Plain, "symbol")


def test_the_c_field_reader_checks_what_it_reads():
    _native_only()
    reader = frozen.field_reader(_Plain, "symbol", "price")
    assert type(reader).__name__ == "SlotReader"
    with pytest.raises(TypeError, match="reads _Plain instances, not str"):
        reader("AAPL")
    with pytest.raises(TypeError, match="exactly one"):
        reader(_Plain(1, 2, "AAPL"), _Plain(1, 2, "MSFT"))
    never_initialised = object.__new__(_Plain)
    with pytest.raises(AttributeError, match="symbol"):
        reader(never_initialised)
    held = object()
    made = _Plain(1, 2, "AAPL", None, held)
    before = sys.getrefcount(held)
    values = [reader(made) for _ in range(100)]
    assert sys.getrefcount(held) == before  # "text" is not read
    wide = frozen.field_reader(_Plain, "text", "price")
    values = [wide(made) for _ in range(100)]
    assert sys.getrefcount(held) == before + 100
    del values
    assert sys.getrefcount(held) == before


def test_the_engine_reads_commands_with_the_c_reader_where_it_is_built(missing_build):
    import matching.engine as engine

    if not frozen.NATIVE:
        missing_build("matching._frozen_init is not built: the engine reads commands with operator.attrgetter "
                      "(install with a C compiler: make install)")
    assert type(engine.submit_fields).__name__ == "SlotReader"
