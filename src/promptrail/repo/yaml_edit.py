"""Edits of prompt files as a person would make them: round trip through ruamel.yaml.

    data = set_version(data, 3)
    data = set_labels(data, {"production": 2, "staging": 3}, as_list=False)

Comments, quoting, key order, block scalars and the file's indentation stay; only the
edited value changes. A block list or mapping keeps its form while it can; a new or
changed form is written in flow style (`labels: [production]`). The comment lines
after the last label stay after the last label when one is added or removed.

Reading YAML stays in `yamlfile.py` (PyYAML, with lines for errors): this module only
rewrites, and its callers parse the result back there to check the edit.
"""

from __future__ import annotations

import io
from typing import Any

from promptrail.repo.yamlfile import reads_as_string

BOM = b"\xef\xbb\xbf"


def set_version(data: bytes, version: int) -> bytes:
    """The file with `version: <version>`."""

    def edit(document: Any) -> None:
        document["version"] = version

    return _round_trip(data, edit)


def set_labels(data: bytes, labels: dict[str, int], as_list: bool) -> bytes:
    """The file with exactly `labels` (label -> version), as a list when `as_list`."""

    def edit(document: Any) -> None:
        _edit_labels(document, labels, as_list)

    return _round_trip(data, edit)


# -- labels ---------------------------------------------------------------------------------


def _edit_labels(document: Any, labels: dict[str, int], as_list: bool) -> None:
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    current = document.get("labels")
    if not labels:  # an empty block would read as null: `labels: []`
        _replace(document, _flow(labels, as_list))
    elif as_list and isinstance(current, CommentedSeq):
        wanted = list(labels)
        for label in [item for item in current if item not in labels]:
            _remove(current, current.index(label))
        for label in wanted:
            if label not in current:
                _append(current, _scalar(label))
    elif not as_list and isinstance(current, CommentedMap):
        for label in [key for key in current if key not in labels]:
            _remove(current, label)
        for label, version in labels.items():
            if label in current:
                current[label] = version
            else:
                _append(current, _scalar(label), version)
    else:
        _replace(document, _flow(labels, as_list))


def _flow(labels: dict[str, int], as_list: bool) -> Any:
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    value: Any = (
        CommentedSeq([_scalar(k) for k in labels])
        if as_list
        else CommentedMap((_scalar(k), v) for k, v in labels.items())
    )
    value.fa.set_flow_style()
    return value


def _scalar(label: str) -> Any:
    """A label as YAML: plain unless it would read as something else (`no`, `1`)."""
    from ruamel.yaml.scalarstring import DoubleQuotedScalarString

    return label if reads_as_string(label) else DoubleQuotedScalarString(label)


# ruamel keeps the comment lines after a block collection's last item with that item (as
# the tail of its end-of-line comment); these helpers keep them after the last item.


def _slot(collection: Any) -> int:
    from ruamel.yaml.comments import CommentedSeq

    return 0 if isinstance(collection, CommentedSeq) else 2


def _last(collection: Any) -> Any:
    return len(collection) - 1 if isinstance(collection, list) else list(collection)[-1]


def _take_tail(collection: Any, key: Any) -> str:
    """Cut the comment lines after item `key` off its comment; return them ('' if none)."""
    entry = collection.ca.items.get(key)
    token = entry[_slot(collection)] if entry else None
    if token is None or "\n" not in token.value:
        return ""
    own, tail = token.value.split("\n", 1)
    if own.strip():
        token.value = own + "\n"
    else:
        entry[_slot(collection)] = None
    return "\n" + tail if tail else ""


def _give_tail(collection: Any, key: Any, tail: str) -> None:
    from ruamel.yaml.error import CommentMark
    from ruamel.yaml.tokens import CommentToken

    if not tail:
        return
    entry = collection.ca.items.setdefault(key, [None, None, None, None])
    token = entry[_slot(collection)]
    if token is None:
        entry[_slot(collection)] = CommentToken(tail, CommentMark(0), None)
    else:
        token.value = token.value.rstrip("\n") + tail


def _append(collection: Any, label: Any, version: int | None = None) -> None:
    tail = _take_tail(collection, _last(collection)) if len(collection) else ""
    if isinstance(collection, list):
        collection.append(label)
    else:
        collection[label] = version
    _give_tail(collection, _last(collection), tail)


def _remove(collection: Any, key: Any) -> None:
    is_last = key == _last(collection)
    tail = _take_tail(collection, key) if is_last else ""
    del collection[key]
    _give_tail(collection, _last(collection), tail)  # never empty: see _edit_labels


def _replace(document: Any, value: Any) -> None:
    """Set `labels` to a new value, keeping the comment lines that followed the old one."""
    old = document.get("labels")
    tail = ""
    if hasattr(old, "fa") and len(old) and not old.fa.flow_style():
        tail = _take_tail(old, _last(old))
    document["labels"] = value
    if tail:
        _give_tail_to_key(document, "labels", tail)


def _give_tail_to_key(document: Any, key: str, tail: str) -> None:
    from ruamel.yaml.error import CommentMark
    from ruamel.yaml.tokens import CommentToken

    entry = document.ca.items.setdefault(key, [None, None, None, None])
    token = entry[2]
    if token is None or not token.value.strip():
        entry[2] = CommentToken(tail, CommentMark(0), None)
    else:
        token.value = token.value.rstrip("\n") + tail


def _indents(document: Any) -> dict[str, int]:
    """The file's own indentation (ruamel writes one style for the whole file), read from
    its first block mapping and block list; `  - item` under a key when it has none."""
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    found = {"mapping": 2, "sequence": 4, "offset": 2}
    maps = seqs = 0
    for value in document.values():
        if not hasattr(value, "fa") or value.fa.flow_style() or not len(value):
            continue
        if isinstance(value, CommentedMap) and not maps:
            found["mapping"], maps = value.lc.col, 1
        elif isinstance(value, CommentedSeq) and not seqs:
            found["offset"], found["sequence"], seqs = value.lc.col, value.lc.data[0][1], 1
    return found


# -- the round trip -------------------------------------------------------------------------


def _round_trip(data: bytes, edit: Any) -> bytes:
    from ruamel.yaml import YAML

    bom = data.startswith(BOM)
    text = data.decode("utf-8-sig")
    crlf = "\r\n" in text
    text = text.replace("\r\n", "\n")
    yaml = YAML()  # round trip
    yaml.preserve_quotes = True
    yaml.width = 1 << 16  # never fold a long line
    yaml.explicit_start = text.lstrip().startswith("---")
    document = yaml.load(text)
    yaml.indent(**_indents(document))
    edit(document)
    out = io.StringIO()
    yaml.dump(document, out)
    result = out.getvalue()
    if crlf:
        result = result.replace("\n", "\r\n")
    return (BOM if bom else b"") + result.encode()
