"""matching.frozen: the fast __init__ of the frozen slotted dataclasses (events, commands, journal entries)
binds and stores exactly as the dataclass's own __init__ does, in C and in the Python fallback alike."""

from __future__ import annotations

import dataclasses
import inspect
import os
import pickle
import shutil
import subprocess
import sys
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

    for make_init in ([frozen.python_init, frozen.native_init] if frozen.NATIVE else [frozen.python_init]):
        @dataclasses.dataclass(frozen=True, slots=True)
        class Refusing:
            held: object
            made: object = dataclasses.field(default_factory=refuse)

        Refusing.__init__ = make_init(Refusing)
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
