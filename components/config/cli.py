"""What the Pulumi CLI does with Pulumi.yaml and Pulumi.<stack>.yaml before the program runs.

The real `pulumi preview` loads the project and the stack file with Go's YAML library, validates the
project's config declarations, adds project defaults and `value:` entries to the stack's config,
refuses a stack that lacks a declared key, type-checks every typed key, and only then hands the
program each value as a string, arrays and objects as Go's `json.Marshal` prints them. The offline
plan and the org stack's reading of the environment stack files go through this module, so they see
exactly what the engine hands the program. Sources (pulumi/pulumi at 1b5949891b3cefcb9974752b24a5ecef0acc86c8):

- `pkg/workspace/config.go`: `mergeConfig` (defaults and values applied to keys the stack does not
  set; the "Stack 'dev' is missing configuration values 'a' and 'b'" error, keys sorted) and
  `validateStackConfigValues` (secret and type checks of every explicitly typed key, in key order);
- `sdk/go/common/workspace/project.go`: `Project.Validate` (no `default` with `value`, `items` for
  arrays, a default of the declared type, other namespaces only `value:`), `ValidateConfigValue`,
  `InferFullTypeName`, and `RewriteShorthandConfigValues` (`key: 1` is a default, `aws:x: 1` a value);
- `sdk/go/common/resource/config/object.go` and `plaintext.go`: strings pass as they are; booleans,
  numbers, arrays and objects as `json.Marshal` output (`Plaintext.marshalText`);
- `sdk/go/common/resource/config/key.go`: `ParseKey` (`<namespace>:<name>`);
- Go's `encoding/json` (compact, map keys sorted, `<`, `>`, `&`, U+2028 and U+2029 escaped as
  `\\u003c`..., `\\b` and `\\f` short escapes since Go 1.22, floats in 'f' format between 1e-6 and
  1e21, else 'e' with the exponent's leading zero dropped) and `gopkg.in/yaml.v3`'s scalar resolution
  (only true/false booleans, `0x`/`0o`/`0b`/leading-zero octal integers, timestamps kept as text).
"""

from __future__ import annotations

import decimal
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from components.shared.errors import ConfigError

STRING, INTEGER, BOOLEAN, ARRAY, OBJECT = "string", "integer", "boolean", "array", "object"
TYPES = (STRING, INTEGER, BOOLEAN, ARRAY, OBJECT)

# --- YAML as gopkg.in/yaml.v3 reads it ------------------------------------------------------------

_GO_SCALAR_TAG = "tag:pyairtable-infra,2026:go-scalar"
_YAML_CONSTANTS: dict[str, Any] = {
    **dict.fromkeys(("true", "True", "TRUE"), True),
    **dict.fromkeys(("false", "False", "FALSE"), False),
    **dict.fromkeys(("", "~", "null", "Null", "NULL"), None),
    **dict.fromkeys((".nan", ".NaN", ".NAN"), math.nan),
    **dict.fromkeys((".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF"), math.inf),
    **dict.fromkeys(("-.inf", "-.Inf", "-.INF"), -math.inf),
}
_YAML_STYLE_FLOAT = re.compile(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")
_INT64 = (-(2**63), 2**63 - 1)


def _go_parse_int(text: str) -> int | None:
    """`strconv.ParseInt(text, 0, 64)`, then `ParseUint`: base prefixes 0x, 0o, 0b and a leading-zero octal."""
    match = re.fullmatch(r"([+-]?)(0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|0[0-7]*|[1-9][0-9]*)", text)
    if match is None:
        return None
    sign, digits = match.groups()
    lowered = digits.lower()
    if lowered.startswith(("0x", "0o", "0b")):
        number = int(lowered[2:], {"x": 16, "o": 8, "b": 2}[lowered[1]])
    elif len(digits) > 1 and digits.startswith("0"):
        number = int(digits, 8)
    else:
        number = int(digits)
    number = -number if sign == "-" else number
    if _INT64[0] <= number <= _INT64[1] or (sign != "-" and number < 2**64):
        return number
    return None


def go_yaml_scalar(text: str) -> Any:
    """The value yaml.v3 gives a plain (unquoted) scalar decoded into `interface{}` (resolve.go)."""
    if text in _YAML_CONSTANTS:
        return _YAML_CONSTANTS[text]
    if text[:1] == ".":
        try:
            return float(text)
        except ValueError:
            return text
    if text[:1] in "+-0123456789":
        # A timestamp-looking scalar stays a string when decoded into interface{} (decode.go).
        plain = text.replace("_", "")
        number = _go_parse_int(plain)
        if number is not None:
            return number
        if _YAML_STYLE_FLOAT.match(plain):
            return float(plain)
    return text


class GoYamlLoader(yaml.SafeLoader):
    """PyYAML with yaml.v3's resolution of plain scalars: `yes`, `on` and dates stay strings, `1e3` is a number."""

    def resolve(self, kind: type[yaml.Node], value: Any, implicit: tuple[bool, bool]) -> str:
        if kind is yaml.ScalarNode and implicit[0]:
            return _GO_SCALAR_TAG
        return super().resolve(kind, value, implicit)


def _construct_go_scalar(loader: GoYamlLoader, node: yaml.Node) -> Any:
    return go_yaml_scalar(str(loader.construct_scalar(node)))  # type: ignore[arg-type]


GoYamlLoader.add_constructor(_GO_SCALAR_TAG, _construct_go_scalar)


def _display(path: Path) -> str:
    return path.name if path.parent == Path.cwd() or not path.is_absolute() else str(path)


def load_yaml_file(path: Path) -> Any:
    """A YAML file as the CLI reads it; a missing file or a syntax error (a tab) is one line naming file and line."""
    try:
        text = path.read_text(encoding="utf-8-sig")  # the CLI strips a UTF-8 byte-order mark too
    except OSError as error:
        raise ConfigError(f"{path}: cannot read: {error.strerror or error}") from None
    try:
        return yaml.load(text, Loader=GoYamlLoader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = f":{mark.line + 1}" if mark is not None else ""
        problem = error.problem or error.context or "invalid YAML"
        if mark is not None and mark.line < len(text.splitlines()) and "\t" in text.splitlines()[mark.line]:
            problem += " (a tab: YAML indents with spaces only)"
        raise ConfigError(f"{path}{line}: YAML syntax error: {problem}") from None
    except yaml.YAMLError as error:
        raise ConfigError(f"{path}: YAML syntax error: {error}") from None


# --- values as Go's encoding/json prints them ----------------------------------------------------

_SHORT_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b", "\f": "\\f"}
_HTML_AND_LINE_SEPARATORS = {"<", ">", "&", "\u2028", "\u2029"}


def go_json_string(text: str) -> str:
    """A string as `json.Marshal` writes it (HTML-safe escaping, control characters as \\u00xx)."""
    out = ['"']
    for character in text:
        if character in _SHORT_ESCAPES:
            out.append(_SHORT_ESCAPES[character])
        elif character < " " or character in _HTML_AND_LINE_SEPARATORS:
            out.append(f"\\u{ord(character):04x}")
        elif 0xD800 <= ord(character) <= 0xDFFF:
            out.append("\\ufffd")  # a lone surrogate is invalid UTF-8, which Go replaces
        else:
            out.append(character)
    out.append('"')
    return "".join(out)


def go_json_float(number: float) -> str:
    """A float64 as `json.Marshal` writes it: shortest digits, 'f' format unless |x| < 1e-6 or >= 1e21."""
    if math.isnan(number) or math.isinf(number):
        raise ConfigError(f"json: unsupported value: {number!r} (the CLI cannot encode NaN or infinity)")
    if number == 0:
        return "-0" if math.copysign(1, number) < 0 else "0"
    shortest = decimal.Decimal(repr(number))
    if 1e-6 <= abs(number) < 1e21:
        text = format(shortest, "f")
        return text.rstrip("0").rstrip(".") if "." in text else text
    sign, digits, exponent = shortest.normalize().as_tuple()
    assert isinstance(exponent, int)
    mantissa = "".join(map(str, digits))
    power = exponent + len(mantissa) - 1
    body = mantissa[0] + (f".{mantissa[1:]}" if len(mantissa) > 1 else "")
    return f"{'-' if sign else ''}{body}e{'-' if power < 0 else '+'}{abs(power):02d}".replace("e-0", "e-", 1)


def go_map_key(key: Any) -> str:
    """yaml.v3 decodes a map with a non-string key as map[any]any; the CLI prints each key with `%v`."""
    if isinstance(key, bool):
        return "true" if key else "false"
    if key is None:
        return "<nil>"
    if isinstance(key, float):
        return go_json_float(key)
    return str(key)


def go_json(value: Any) -> str:  # noqa: PLR0911 (one return per JSON type, as Go's encoder switch)
    """`json.Marshal(value)`: compact, map keys sorted, Go's escaping and number formats."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return go_json_float(value)
    if isinstance(value, str):
        return go_json_string(value)
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(go_json(item) for item in value) + "]"
    if isinstance(value, Mapping):
        items = sorted((go_map_key(key), item) for key, item in value.items())
        return "{" + ",".join(f"{go_json_string(key)}:{go_json(item)}" for key, item in items) + "}"
    raise ConfigError(f"json: unsupported type {type(value).__name__} in a config value")


def config_text(value: Any) -> str:
    """The string the CLI hands the program for one config value: strings as they are, the rest as JSON."""
    return value if isinstance(value, str) else go_json(value)


# --- the project's config declarations -----------------------------------------------------------


@dataclass(frozen=True)
class ItemsType:
    """`items:` of an array declaration (Go `ProjectConfigItemsType`)."""

    type: str
    items: ItemsType | None = None


@dataclass(frozen=True)
class Declaration:
    """One `config:` entry of Pulumi.yaml (Go `ProjectConfigType`), after the shorthand rewrite."""

    key: str
    type: str | None = None
    items: ItemsType | None = None
    default: Any = None
    value: Any = None
    secret: bool = False

    @property
    def has_default(self) -> bool:
        """A `default: null` is no default, as in Go (`Default != nil`)."""
        return self.default is not None

    @property
    def has_value(self) -> bool:
        """A `value: null` is no value."""
        return self.value is not None


def infer_full_type_name(type_name: str, items: ItemsType | None) -> str:
    """`InferFullTypeName`: `array<string>` for an array of strings."""
    return f"array<{infer_full_type_name(items.type, items.items)}>" if items is not None else type_name


def _go_atoi(text: str) -> bool:
    return re.fullmatch(r"[+-]?[0-9]+", text) is not None and _INT64[0] <= int(text) <= _INT64[1]


def validate_config_value(type_name: str, items: ItemsType | None, value: Any) -> bool:  # noqa: PLR0911 (Go's switch)
    """`ValidateConfigValue`: whether `value` (a string, or decoded JSON for objects) is of the declared type."""
    if type_name == STRING:
        return isinstance(value, str)
    if type_name == INTEGER:
        if isinstance(value, bool):
            return False
        if isinstance(value, int):
            return True
        if isinstance(value, float):
            return value.is_integer()
        return isinstance(value, str) and _go_atoi(value)
    if type_name == BOOLEAN:
        return isinstance(value, bool) or value in ("true", "false")
    if type_name == OBJECT:
        return isinstance(value, dict)
    if not isinstance(value, list) or items is None:
        return False
    return all(validate_config_value(items.type, items.items, item) for item in value)


def _items(raw: Any, key: str) -> ItemsType | None:
    if raw is None:
        return None
    if not isinstance(raw, dict) or raw.get("type") not in TYPES:
        raise ConfigError(f"Pulumi.yaml: config '{key}': items need a type, one of {list(TYPES)}")
    return ItemsType(raw["type"], _items(raw.get("items"), key))


def _namespaced_by_project(project: str, key: str) -> bool:
    return ":" not in key or key.startswith(f"{project}:")


def project_declarations(project_doc: Mapping[str, Any]) -> dict[str, Declaration]:
    """The `config:` block of a loaded Pulumi.yaml, rewritten and validated as `LoadProjectBytes` does."""
    project = project_doc.get("name")
    if not isinstance(project, str) or not project:
        raise ConfigError("Pulumi.yaml: project is missing a 'name' attribute")
    raw_config = project_doc.get("config") or {}
    if not isinstance(raw_config, dict):
        return {}  # a string is the deprecated config directory, not declarations
    declarations = {}
    for raw_key, entry in raw_config.items():
        key = str(raw_key)
        if isinstance(entry, (str, int, bool, list)):
            # RewriteShorthandConfigValues: a project key's shorthand is its default, another namespace's its value.
            entry = {"default": entry} if _namespaced_by_project(project, key) else {"value": entry}  # noqa: PLW2901
        if not isinstance(entry, dict):
            raise ConfigError(f"Pulumi.yaml: config '{key}' must be a value or a declaration, got {entry!r}")
        raw: dict[str, Any] = entry
        unknown = sorted(set(raw) - {"type", "items", "description", "default", "value", "secret"})
        if unknown:
            raise ConfigError(f"Pulumi.yaml: config '{key}' has unknown attributes {unknown}")
        if raw.get("type") is not None and raw["type"] not in TYPES:
            raise ConfigError(f"Pulumi.yaml: config '{key}' has type {raw['type']!r}; allowed: {list(TYPES)}")
        declarations[key] = Declaration(
            key, raw.get("type"), _items(raw.get("items"), key), raw.get("default"), raw.get("value"),
            bool(raw.get("secret", False)),
        )  # fmt: skip
    for declaration in declarations.values():
        _validate_declaration(project, declaration)
    return declarations


def _validate_declaration(project: str, declaration: Declaration) -> None:
    """`Project.Validate`, with the CLI's own messages."""
    key = declaration.key
    if declaration.has_default and declaration.has_value:
        raise ConfigError(f"project config '{key}' cannot have both a 'default' and 'value' attribute")
    if _namespaced_by_project(project, key):
        if declaration.type == ARRAY and declaration.items is None:
            raise ConfigError(
                f"The configuration key '{key}' declares an array but does not specify the underlying type via "
                "the 'items' attribute"
            )
        typed_default = declaration.type is not None and declaration.has_default
        if typed_default and not validate_config_value(declaration.type or "", declaration.items, declaration.default):
            raise ConfigError(
                f"The default value specified for configuration key '{key}' is not of the expected type "
                f"'{infer_full_type_name(declaration.type or '', declaration.items)}'"
            )
        return
    if declaration.type is not None:
        raise ConfigError(f"Configuration key '{key}' is not namespaced by the project and should not define a type")
    if declaration.has_default:
        raise ConfigError(
            f"Configuration key '{key}' is not namespaced by the project and should not define a default value. "
            "Did you mean to use the 'value' attribute instead of 'default'?"
        )
    if not declaration.has_value:
        raise ConfigError(f"Configuration key '{key}' is namespaced and must provide an attribute 'value'")


# --- a stack's config, merged and validated -------------------------------------------------------


@dataclass(frozen=True)
class StackValue:
    """One config value of a stack: the decoded YAML value, and whether any part of it is `secure:`."""

    value: Any
    secure: bool = False
    object: bool = False
    """Whether the CLI stores it as JSON (`Value.Object()`), so the type check decodes it first."""

    @classmethod
    def from_stack_file(cls, value: Any, secure: bool) -> StackValue:
        """`object.MarshalString`: maps, lists and null are JSON objects; scalars and `secure:` strings are not."""
        return cls(value, secure, isinstance(value, (dict, list)) or value is None)

    @classmethod
    def from_project(cls, value: Any) -> StackValue:
        """`createConfigValue`: strings, integers and booleans are plain values, anything else JSON."""
        return cls(value, False, not isinstance(value, (str, int, bool)))


def _is_secure(value: Any) -> bool:
    return isinstance(value, dict) and len(value) == 1 and isinstance(value.get("secure"), str)


def _decrypted(value: Any, stand_in: str) -> tuple[Any, bool]:
    """The value with every `secure:` leaf replaced by `stand_in` (offline nothing can be decrypted)."""
    if _is_secure(value):
        return stand_in, True
    if isinstance(value, dict):
        pairs = {key: _decrypted(item, stand_in) for key, item in value.items()}
        return {key: item for key, (item, _) in pairs.items()}, any(secure for _, secure in pairs.values())
    if isinstance(value, list):
        pairs_list = [_decrypted(item, stand_in) for item in value]
        return [item for item, _ in pairs_list], any(secure for _, secure in pairs_list)
    return value, False


def parse_key(project: str, key: str) -> str:
    """`ParseKey` for a stack file key: `<namespace>:<name>`; a bare name belongs to the project."""
    if ":" not in key:
        return f"{project}:{key}"
    parts = key.split(":")
    if len(parts) == 2:
        return key
    if len(parts) == 3 and parts[1] == "config":
        return f"{parts[0]}:{parts[2]}"
    raise ConfigError(
        f"could not parse {key} as a configuration key (configuration keys should be of the form `<namespace>:<name>`)"
    )


def stack_values(stack_doc: Any, project: str, stand_in: str) -> dict[str, StackValue]:
    """The `config:` block of a loaded stack file, keys parsed, `secure:` values replaced by `stand_in`."""
    config = (stack_doc or {}).get("config") if isinstance(stack_doc, dict) else None
    if config is None:
        return {}
    if not isinstance(config, dict):
        raise ConfigError(f"stack file: 'config' must be a map of keys to values, got {type(config).__name__}")
    values = {}
    for key, raw in config.items():
        value, secure = _decrypted(raw, stand_in)
        values[parse_key(project, str(key))] = StackValue.from_stack_file(value, secure)
    return values


def _missing_keys_error(stack: str, missing: list[str]) -> str:
    """`missingStackConfigurationKeysError`: "'a'", "'a' and 'b'", "'a', 'b' and 'c'" (sorted)."""
    quoted = [f"'{key}'" for key in sorted(missing)]
    listed = quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " and " + quoted[-1]
    return f"Stack '{stack}' is missing configuration value{'s' if len(quoted) > 1 else ''} {listed}"


def merge_config(
    stack: str, project: str, declarations: Mapping[str, Declaration], values: Mapping[str, StackValue]
) -> tuple[dict[str, str], list[str]]:
    """`ValidateStackConfigAndApplyProjectConfig`: the strings the program receives, and the secret keys.

    Raises `ConfigError` with the CLI's own message when the CLI would stop before the program runs.
    """
    merged = dict(values)
    missing = []
    for key in sorted(declarations):
        declaration = declarations[key]
        full_key = parse_key(project, key)
        if full_key in merged:
            continue
        if declaration.has_default or declaration.has_value:
            project_value = declaration.default if declaration.has_default else declaration.value
            merged[full_key] = StackValue.from_project(project_value)
        elif full_key.partition(":")[0] == project:
            missing.append(key)
    if missing:
        raise ConfigError(_missing_keys_error(stack, missing))
    texts = {key: config_text(stack_value.value) for key, stack_value in merged.items()}
    for key in sorted(declarations):
        declaration = declarations[key]
        full_key = parse_key(project, key)
        if declaration.type is None:
            continue
        if declaration.secret and not merged[full_key].secure:
            raise ConfigError(f"Stack '{stack}' with configuration key '{key}' must be encrypted as it's secret")
        # validateStackConfigValue: objects and arrays are decoded from their JSON, everything else is a string.
        content = _go_json_decode(texts[full_key]) if merged[full_key].object else texts[full_key]
        if not validate_config_value(declaration.type, declaration.items, content):
            type_name = infer_full_type_name(declaration.type, declaration.items)
            raise ConfigError(f"Stack '{stack}' with configuration key '{key}' must be of type '{type_name}'")
    secret_keys = sorted(key for key, stack_value in merged.items() if stack_value.secure)
    return texts, secret_keys


def _go_json_decode(text: str) -> Any:
    """`json.Unmarshal` into `interface{}`: every number is a float64."""
    return json.loads(text, parse_int=float)
