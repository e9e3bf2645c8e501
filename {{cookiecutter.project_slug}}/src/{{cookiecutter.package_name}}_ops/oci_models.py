"""Check a request body against the OCI Python SDK's own Data Science models.

``to_sdk_model(body, "CreateModelDeploymentDetails")`` builds the SDK object the
way the SDK reads JSON (subtypes chosen by their discriminator fields, enum
values checked by the models themselves); ``check_body`` also turns it back
into JSON and fails when anything was dropped or changed on the way.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from oci.data_science.models import data_science_type_mapping

PRIMITIVES: dict[str, tuple[type, ...]] = {
    "str": (str,),
    "int": (int,),
    "float": (int, float),
    "bool": (bool,),
    "object": (object,),
}


class ModelMismatch(ValueError):
    """The body does not fit the SDK's model; the message names the field."""


def to_sdk_model(
    data: Any, type_name: str, where: str = "$", mapping: Mapping[str, Any] = data_science_type_mapping
) -> Any:
    if data is None:
        return None
    kind = "list" if type_name.startswith("list[") else "dict" if type_name.startswith("dict(") else ""
    if kind and not isinstance(data, list if kind == "list" else dict):
        raise ModelMismatch(f"{where}: {data!r} is not a {kind}")
    if type_name in mapping and not isinstance(data, dict):
        raise ModelMismatch(f"{where}: {data!r} is not a {type_name} (a JSON object)")
    if type_name.startswith("list["):
        return [to_sdk_model(item, type_name[5:-1], f"{where}[{i}]", mapping) for i, item in enumerate(data)]
    if type_name.startswith("dict("):
        value_type = type_name[5:-1].split(", ", 1)[1]
        return {
            key: to_sdk_model(value, value_type, f"{where}.{key}", mapping) for key, value in data.items()
        }
    if type_name == "datetime" and not is_rfc3339(data):
        raise ModelMismatch(f"{where}: {data!r} is not an RFC 3339 time (2025-01-31T12:00:00.000Z)")
    if type_name not in mapping:
        kinds = PRIMITIVES.get(type_name, (object,))
        if not isinstance(data, kinds) or (type_name in {"int", "float"} and isinstance(data, bool)):
            raise ModelMismatch(f"{where}: {data!r} is not a {type_name}")
        return data
    model = mapping[type_name]
    if hasattr(model, "get_subtype"):
        model = mapping[model.get_subtype(data)]
    fields = model().attribute_map
    unknown = set(data) - set(fields.values())
    if unknown:
        raise ModelMismatch(f"{where}: {sorted(unknown)} are not fields of {model.__name__}")
    types = model().swagger_types
    try:
        return model(
            **{
                attribute: to_sdk_model(data[name], types[attribute], f"{where}.{name}", mapping)
                for attribute, name in fields.items()
                if name in data
            }
        )
    except ValueError as error:  # the SDK's own check of enum values
        raise ModelMismatch(f"{where}: {error}") from None


def is_rfc3339(value: Any) -> bool:
    """Whether ``value`` is a time as OCI takes it in JSON: RFC 3339 text with its offset (or Z)."""
    if not isinstance(value, str) or "T" not in value:
        return False
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).tzinfo is not None
    except ValueError:
        return False


def to_json(value: Any) -> Any:
    """The JSON form of an SDK object (camelCase names, no unset fields)."""
    if isinstance(value, list):
        return [to_json(item) for item in value]
    if isinstance(value, dict):
        return {key: to_json(item) for key, item in value.items()}
    if hasattr(value, "attribute_map"):
        return {
            name: to_json(getattr(value, attribute))
            for attribute, name in value.attribute_map.items()
            if getattr(value, attribute) is not None
        }
    return value


def check_body(
    body: dict[str, Any], type_name: str, mapping: Mapping[str, Any] = data_science_type_mapping
) -> Any:
    """The SDK object for ``body``; raises ``ModelMismatch`` unless it round-trips unchanged.

    ``mapping`` is an SDK package's type mapping: Data Science's unless told, e.g.
    ``oci.identity.models.identity_type_mapping`` for ``CreatePolicyDetails``.
    """
    model = to_sdk_model(body, type_name, mapping=mapping)
    difference = first_difference(body, to_json(model))
    if difference:
        raise ModelMismatch(f"{type_name} does not keep the body as it is: {difference}")
    return model


def first_difference(sent: Any, kept: Any, where: str = "$") -> str | None:
    """Where ``kept`` first differs from ``sent``, said in words, or None."""
    if isinstance(sent, dict) and isinstance(kept, dict):
        for key in sorted(sent.keys() | kept.keys()):
            if key not in kept:
                return f"{where}.{key} was dropped"
            if key not in sent:
                return f"{where}.{key} was added"
            if found := first_difference(sent[key], kept[key], f"{where}.{key}"):
                return found
        return None
    if isinstance(sent, list) and isinstance(kept, list) and len(sent) == len(kept):
        for index, (one, other) in enumerate(zip(sent, kept, strict=True)):
            if found := first_difference(one, other, f"{where}[{index}]"):
                return found
        return None
    return None if sent == kept else f"{where}: {sent!r} became {kept!r}"
