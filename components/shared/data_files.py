"""The project's data files (catalog, prices): read once, validated into frozen models, errors made clear."""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from components.shared.errors import ConfigError

Model = TypeVar("Model", bound=BaseModel)


def describe_issue(issue: ErrorDetails) -> str:
    """`services.3.language = 'rust': Input should be 'go', 'python' or 'docs'` (key, value, allowed)."""
    key = ".".join(str(part) for part in issue["loc"]) or "(top level)"
    value = issue["input"]
    shown = f" = {value!r}" if issue["loc"] and not isinstance(value, (dict, list)) else ""
    return f"{key}{shown}: {issue['msg']}"


def validate_data(model: type[Model], data: object, source: str) -> Model:
    """Validate data (as loaded from YAML) into `model`; `ConfigError` names the file and every problem."""
    try:
        return model.model_validate(data)
    except ValidationError as error:
        problems = "; ".join(describe_issue(issue) for issue in error.errors())
        raise ConfigError(f"{source}: {problems}") from None


def load_data_file(model: type[Model], path: Path) -> Model:
    """Read a YAML data file and validate it into `model`."""
    try:
        data = yaml.safe_load(path.read_text())
    except OSError as error:
        raise ConfigError(f"{path}: cannot read the data file: {error.strerror}") from None
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = f":{mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{path}{line}: not valid YAML: {error.problem or error.context}") from None
    except yaml.YAMLError as error:
        raise ConfigError(f"{path}: not valid YAML: {error}") from None
    return validate_data(model, data, str(path))
