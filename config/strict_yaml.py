"""Read a stack file's YAML the way the Pulumi CLI does, refusing what it would refuse or misread.

Pure (no Pulumi): ``load_yaml(data, source=...)`` returns plain ``dict``/``list``/``str``/``int``/
``float``/``bool``/``None`` values or raises ``ConfigError`` naming the stack file, the key path, the
bad value and what is accepted. Refused before anything is constructed:

- bytes that are not UTF-8 (a UTF-8 byte-order mark is allowed);
- a repeated mapping key (the Pulumi CLI refuses them: go-yaml v3 reports ``mapping key ... already
  defined``);
- a mapping key that is not a string (``1:``, ``true:``, ``[a]:``, ``null:``);
- every tag outside the core schema (``!!binary``, ``!!set``, ``!!omap``, ``!!timestamp``,
  ``!!python/...``, ``!x``; ``!!str``/``!!int``/... are fine): Pulumi config values are strings,
  numbers, booleans, lists and maps;
- lists and mappings nested deeper than ``MAX_DEPTH`` (the document's own mapping is the first level;
  checked before the composer recurses, the same bound for flow and block styles);
- alias bombs: the expanded size of the document (every alias counts the whole node it repeats) is
  bounded by ``MAX_EXPANDED_NODES``, checked while composing, so the refusal is quick and the memory
  bounded (go-yaml v3 likewise refuses "document contains excessive aliasing"); an alias to its own
  enclosing node (a cycle) is refused too;
- integers with more than ``MAX_INT_DIGITS`` digits.

Scalars are resolved with the YAML 1.2 core schema, as go-yaml v3 (the Pulumi CLI's parser) reads
them into ``interface{}``: ``yes``/``no``/``on``/``off`` and ``18:00`` stay strings (PyYAML's YAML 1.1
would read a bool and the sexagesimal int 1080), and a date or timestamp such as
``startDate: 2026-12-01`` stays the string written (go-yaml decode.go, ``scalar()``: "It looks like a
timestamp but for backward compatibility reasons we set it as a string").
"""

from __future__ import annotations

import re
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from config.errors import ConfigError, Problem

MAX_DEPTH = 64
MAX_EXPANDED_NODES = 100_000
MAX_INT_DIGITS = 60

_STR = "tag:yaml.org,2002:str"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_BOOL = "tag:yaml.org,2002:bool"
_NULL = "tag:yaml.org,2002:null"
_SEQ = "tag:yaml.org,2002:seq"
_MAP = "tag:yaml.org,2002:map"
_MERGE = "tag:yaml.org,2002:merge"
_PLAIN_TAGS = {_STR, _INT, _FLOAT, _BOOL, _NULL, _SEQ, _MAP}

# YAML 1.2 core schema (https://yaml.org/spec/1.2.2/#1032-tag-resolution)
_CORE_RESOLVERS = [
    (_BOOL, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")),
    (_NULL, re.compile(r"^(?:~|null|Null|NULL|)$"), ["~", "n", "N", ""]),
    (_INT, re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$"), list("-+0123456789")),
    (
        _FLOAT,
        re.compile(
            r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
            r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
        ),
        list("-+0123456789."),
    ),
    (_MERGE, re.compile(r"^<<$"), ["<"]),
]

ACCEPTED_VALUES = "text, numbers, true/false, lists and mappings with text keys (quote anything else)"


class _Refused(Exception):
    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.message)
        self.problem = problem


def _where(node: Node) -> str:
    mark = node.start_mark
    return f"line {mark.line + 1}, column {mark.column + 1}"


def _scalar_text(node: Node) -> str:
    return str(node.value) if isinstance(node, ScalarNode) else f"<{type(node).__name__[:-4].lower()}>"


# PyYAML's composer is untyped in its stubs: the subclass talks to it through Any.
_SafeLoader: Any = yaml.SafeLoader


class _Loader(_SafeLoader):  # type: ignore[misc]
    """SafeLoader with the YAML 1.2 core resolvers and the depth/alias bounds."""

    yaml_implicit_resolvers: dict[str, list[tuple[str, re.Pattern[str]]]] = {}

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0
        self._sizes: dict[int, int] = {}  # id(node) -> expanded node count, once composed
        self._open: set[int] = set()  # collection nodes being composed (an alias to one is a cycle)
        self._total = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            anchor = event.anchor
            if anchor in self.anchors:
                target = self.anchors[anchor]
                if id(target) in self._open:
                    self.get_event()
                    raise _Refused(
                        Problem(
                            f"line {event.start_mark.line + 1}",
                            f"*{anchor}",
                            "an alias to the node that contains it (a cycle)",
                            "an alias to a finished node, or the value written out",
                        )
                    )
                self._count(self._sizes.get(id(target), 1), event)
            return super().compose_node(parent, index)
        # Only lists and mappings nest: a scalar at the bottom adds no level, so a flow list, a flow map
        # and block YAML reach the same bound (issue 20: `[[...]]` was allowed one level more).
        nests = 1 if self.check_event(yaml.SequenceStartEvent, yaml.MappingStartEvent) else 0
        self._depth += nests
        if self._depth > MAX_DEPTH:
            event = self.peek_event()
            raise _Refused(
                Problem(
                    f"line {event.start_mark.line + 1}",
                    None,
                    f"nested deeper than {MAX_DEPTH} levels",
                    f"at most {MAX_DEPTH} levels of lists and mappings",
                )
            )
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= nests

    def _count(self, size: int, event: Any) -> None:
        self._total += size
        if self._total > MAX_EXPANDED_NODES:
            raise _Refused(
                Problem(
                    f"line {event.start_mark.line + 1}",
                    None,
                    f"excessive aliasing: the document expands to more than {MAX_EXPANDED_NODES:,} values",
                    "write the values out, or use fewer aliases",
                )
            )

    def compose_scalar_node(self, anchor: Any) -> Any:
        node = super().compose_scalar_node(anchor)
        self._sizes[id(node)] = 1
        self._count(1, node)
        return node

    def compose_sequence_node(self, anchor: Any) -> Any:
        start = self.get_event()
        tag = start.tag
        if tag is None or tag == "!":
            tag = self.resolve(SequenceNode, None, start.implicit)
        node = SequenceNode(tag, [], start.start_mark, None, flow_style=start.flow_style)
        self._open_collection(node, anchor, start)
        while not self.check_event(yaml.SequenceEndEvent):
            node.value.append(self.compose_node(node, None))
        node.end_mark = self.get_event().end_mark
        self._close_collection(node, list(node.value))
        return node

    def compose_mapping_node(self, anchor: Any) -> Any:
        start = self.get_event()
        tag = start.tag
        if tag is None or tag == "!":
            tag = self.resolve(MappingNode, None, start.implicit)
        node = MappingNode(tag, [], start.start_mark, None, flow_style=start.flow_style)
        self._open_collection(node, anchor, start)
        while not self.check_event(yaml.MappingEndEvent):
            key = self.compose_node(node, None)
            value = self.compose_node(node, key)
            node.value.append((key, value))
        node.end_mark = self.get_event().end_mark
        self._close_collection(node, [n for pair in node.value for n in pair])
        return node

    def _open_collection(self, node: Node, anchor: str | None, start: Any) -> None:
        # As PyYAML does, the anchor names the node before its children are composed, so an alias
        # inside it finds it: that is a cycle, refused in compose_node.
        self._count(1, start)
        if anchor is not None:
            self.anchors[anchor] = node
        self._open.add(id(node))

    def _close_collection(self, node: Node, children: list[Node]) -> None:
        self._open.discard(id(node))
        self._sizes[id(node)] = 1 + sum(self._sizes.get(id(child), 1) for child in children)


for _tag, _regexp, _first in _CORE_RESOLVERS:
    _Loader.add_implicit_resolver(_tag, _regexp, _first)


def _check(node: Node, path: str) -> None:
    """Tags, keys and integer sizes of a composed node tree (iterative: depth is already bounded)."""
    stack: list[tuple[Node, str]] = [(node, path)]
    seen: set[int] = set()
    while stack:
        current, where = stack.pop()
        if id(current) in seen:  # an alias: its node was checked at its anchor
            continue
        seen.add(id(current))
        tag = current.tag
        if tag not in _PLAIN_TAGS and not (tag == _MERGE and isinstance(current, ScalarNode)):
            raise _Refused(
                Problem(
                    where or "(document)",
                    _scalar_text(current),
                    f"the YAML tag {_short_tag(tag)} is not a config value ({_where(current)})",
                    ACCEPTED_VALUES,
                )
            )
        if isinstance(current, ScalarNode) and tag == _INT:
            digits = current.value.lstrip("+-")
            if len(digits) > MAX_INT_DIGITS:
                raise _Refused(
                    Problem(
                        where,
                        current.value,
                        f"a number too large to use ({len(digits)} digits)",
                        "a number within the key's range",
                    )
                )
        elif isinstance(current, SequenceNode):
            stack.extend((child, f"{where}[{i}]") for i, child in reversed(list(enumerate(current.value))))
        elif isinstance(current, MappingNode):
            keys: dict[str, Node] = {}
            for key_node, value_node in current.value:
                if key_node.tag == _MERGE:
                    stack.append((value_node, where))
                    continue
                if not isinstance(key_node, ScalarNode) or key_node.tag != _STR:
                    raise _Refused(
                        Problem(
                            f"{where}.{_scalar_text(key_node)}" if where else _scalar_text(key_node),
                            _scalar_text(key_node),
                            f"a mapping key must be text; YAML reads this one as {_kind(key_node)} "
                            f"({_where(key_node)})",
                            'a text key (quote it: "1", "true")',
                        )
                    )
                key = str(key_node.value)
                child = f"{where}.{key}" if where else key
                if key in keys:
                    raise _Refused(
                        Problem(
                            child,
                            key,
                            f"the key is repeated ({_where(keys[key])} and {_where(key_node)}); "
                            "the Pulumi CLI refuses a stack file with repeated keys",
                            "each key once per mapping",
                        )
                    )
                keys[key] = key_node
                stack.append((value_node, child))


def _short_tag(tag: str) -> str:
    return "!!" + tag.removeprefix("tag:yaml.org,2002:") if tag.startswith("tag:yaml.org,2002:") else tag


def _kind(node: Node) -> str:
    names = {_INT: "a number", _FLOAT: "a number", _BOOL: "a boolean", _NULL: "null"}
    if isinstance(node, ScalarNode):
        return names.get(node.tag, _short_tag(node.tag))
    return "a list" if isinstance(node, SequenceNode) else "a mapping"


def decode_utf8(data: bytes, source: str) -> str:
    """``data`` as text; ``ConfigError`` naming the line and column of the first byte that is not UTF-8."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        before = data[: exc.start]
        line = before.count(b"\n") + 1
        column = exc.start - (before.rfind(b"\n") + 1) + 1
        raise ConfigError(
            source,
            "",
            [
                Problem(
                    f"line {line}, column {column}",
                    data[exc.start : exc.start + 4],
                    "the stack file is not UTF-8 text",
                    "a UTF-8 encoded file (re-save it as UTF-8)",
                )
            ],
        ) from None


def load_yaml(data: bytes | str, *, source: str) -> Any:
    """Parse one YAML document; raise ``ConfigError`` for anything the Pulumi CLI would refuse."""
    text = decode_utf8(data, source) if isinstance(data, bytes) else data
    try:
        loader = _Loader(text)
    except yaml.reader.ReaderError as exc:  # a control character (NUL, ESC ...) the YAML spec forbids
        raise ConfigError(source, "", [_unprintable(text, exc)]) from None
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _check(node, "")
        return loader.construct_document(node)
    except _Refused as refused:
        raise ConfigError(source, "", [refused.problem]) from None
    except yaml.reader.ReaderError as exc:
        raise ConfigError(source, "", [_unprintable(text, exc)]) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(
            source, "", [Problem("", None, f"not valid YAML{where}: {problem}", "a YAML mapping")]
        ) from None
    except RecursionError:  # defence in depth: MAX_DEPTH stops the composer well before this
        raise ConfigError(
            source, "", [Problem("", None, "nested too deeply", f"at most {MAX_DEPTH} levels")]
        ) from None
    finally:
        loader.dispose()


def _unprintable(text: str, exc: yaml.reader.ReaderError) -> Problem:
    before = text[: exc.position]
    line = before.count("\n") + 1
    column = exc.position - (before.rfind("\n") + 1) + 1
    return Problem(
        f"line {line}, column {column}",
        chr(exc.character) if isinstance(exc.character, int) else exc.character,
        "a control character YAML does not allow in a file",
        'printable text (write it as an escape inside double quotes, e.g. "\\t")',
    )
