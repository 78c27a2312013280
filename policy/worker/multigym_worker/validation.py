"""Request validation against the JSON Schema exported from policy/protocol.ts.

Defaults are filled in the way zod's `.default()` does (a missing key gets the default; a present
object gets its own missing keys filled), then the request is validated with `jsonschema`. The first
error becomes a `RequestValidationError` naming the dotted field path.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, best_match

from .errors import RequestValidationError

SCHEMA_PATH = Path(__file__).resolve().parent / "protocol.schema.json"


def apply_defaults(schema: dict[str, Any], value: Any) -> Any:
    """Fills zod-style defaults into `value` (mutated in place for objects; returned)."""
    if isinstance(value, dict) and isinstance(schema.get("properties"), dict):
        for key, sub in schema["properties"].items():
            if key not in value and isinstance(sub, dict) and "default" in sub:
                value[key] = copy.deepcopy(sub["default"])
            if key in value and isinstance(sub, dict):
                value[key] = apply_defaults(sub, value[key])
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for i, item in enumerate(value):
            value[i] = apply_defaults(schema["items"], item)
    return value


def field_of(err: ValidationError) -> str:
    """Dotted path of the field an error is about (the missing key, for `required`)."""
    path = [str(p) for p in err.absolute_path]
    if err.validator == "required" and isinstance(err.instance, dict):
        missing = [k for k in err.validator_value if k not in err.instance]
        if missing:
            path.append(missing[0])
    return ".".join(path)


class RequestValidator:
    """Validates the request bodies of every route of the protocol schema."""

    def __init__(self, schema_path: Path = SCHEMA_PATH) -> None:
        raw = json.loads(schema_path.read_text())
        self.schemas = {route: spec["request"] for route, spec in raw.items()}
        self.validators = {route: Draft202012Validator(s) for route, s in self.schemas.items()}

    def validate(self, route: str, body: Any) -> dict[str, Any]:
        """Returns `body` with defaults applied.

        Raises:
            RequestValidationError: the body does not match the route's request schema.
        """
        if not isinstance(body, dict):
            raise RequestValidationError("the request body must be a JSON object", "")
        body = apply_defaults(self.schemas[route], copy.deepcopy(body))
        err = best_match(self.validators[route].iter_errors(body))
        if err is not None:
            field = field_of(err)
            msg = err.message if len(err.message) <= 300 else err.message[:300] + " …"
            raise RequestValidationError(f"{field or 'body'}: {msg}", field)
        return body
