"""Response models → Arrow tables, with a schema that follows each model's fields (so an empty page
has the same columns as a full one).

UUIDs become text, timestamps ``timestamp[us, UTC]``, metadata objects JSON text, nested models
structs and lists of them lists of structs.
"""

from __future__ import annotations

import json
import types
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Any, Union, get_args, get_origin

import pyarrow as pa
from pydantic import BaseModel

_SCALARS: dict[Any, pa.DataType] = {
    str: pa.string(),
    int: pa.int64(),
    bool: pa.bool_(),
    float: pa.float64(),
    uuid.UUID: pa.string(),
    datetime: pa.timestamp("us", tz="UTC"),
}


def _strip(annotation: Any) -> Any:
    """The type under ``Annotated[...]`` and ``... | None``."""
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
        elif origin in (Union, types.UnionType):
            options = [a for a in get_args(annotation) if a is not type(None)]
            annotation = options[0]
        else:
            return annotation


def arrow_type(annotation: Any) -> pa.DataType:
    kind = _strip(annotation)
    if kind in _SCALARS:
        return _SCALARS[kind]
    origin = get_origin(kind)
    if origin is list:
        return pa.list_(arrow_type(get_args(kind)[0]))
    if origin is dict:
        return pa.string()  # metadata: JSON text
    if isinstance(kind, type) and issubclass(kind, BaseModel):
        return pa.struct([pa.field(name, arrow_type(f.annotation)) for name, f in kind.model_fields.items()])
    raise TypeError(f"no Arrow type for {annotation!r}")


def _value(annotation: Any, value: Any) -> Any:
    if value is None:
        return None
    kind = _strip(annotation)
    origin = get_origin(kind)
    if kind is uuid.UUID:
        return str(value)
    if origin is list:
        (item,) = get_args(kind)
        return [_value(item, v) for v in value]
    if origin is dict:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    if isinstance(kind, type) and issubclass(kind, BaseModel):
        return {name: _value(f.annotation, getattr(value, name)) for name, f in kind.model_fields.items()}
    return value


def models_to_arrow(model: type[BaseModel], items: Sequence[BaseModel]) -> pa.Table:
    """One row per item, one column per field of ``model``."""
    schema = pa.schema([pa.field(name, arrow_type(f.annotation)) for name, f in model.model_fields.items()])
    columns = {name: [_value(f.annotation, getattr(item, name)) for item in items]
               for name, f in model.model_fields.items()}
    return pa.table({name: pa.array(values, schema.field(name).type) for name, values in columns.items()},
                    schema=schema)
