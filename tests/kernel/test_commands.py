"""The %aios registry: a name's two forms, registered by different layers in either order."""

from __future__ import annotations

from typing import Any

import pytest

from aios_kernel._kernel._commands import COMMANDS, command


@pytest.fixture
def scratch() -> Any:
    names = ("zz-args-first", "zz-bare-first", "zz-bare-only")
    yield names
    for name in names:
        COMMANDS.pop(name, None)


def test_the_bare_and_argument_forms_combine_in_either_order(scratch: Any) -> None:
    args_first, bare_first, bare_only = scratch
    command(args_first, "answer a query", f"{args_first} QUERY")(lambda wb, a: ("query", a))
    command(args_first, "open the explorer", args_first, bare=True)(lambda wb, a: "widget")
    command(bare_first, "open the meter", bare_first, bare=True)(lambda wb, a: "widget")
    command(bare_first, "a table by", f"{bare_first} [workflow|day]")(lambda wb, a: ("table", a))
    command(bare_only, "just a widget", bare_only, bare=True)(lambda wb, a: "widget")
    for name, with_args in ((args_first, "query"), (bare_first, "table")):
        cmd = COMMANDS[name]
        assert cmd.fn(None, []) == "widget"
        assert cmd.fn(None, ["x"]) == (with_args, ["x"])
        assert "; with arguments: " in cmd.help
    assert COMMANDS[args_first].usage == f"{args_first} [QUERY]"
    assert COMMANDS[bare_first].usage == f"{bare_first} [workflow|day]"
    assert COMMANDS[bare_only].fn(None, ["ignored"]) == "widget" and COMMANDS[bare_only].help == "just a widget"


def test_the_shipped_shared_names_keep_both_forms() -> None:
    import aios_kernel._kernel  # noqa: F401  (registers every layer's commands)

    for name in ("memory", "costs"):
        cmd = COMMANDS[name]
        assert cmd.bare is not None and cmd.with_args is not None, name
