"""The functions' settings base: a pydantic model filled from the process environment.

Why not pydantic-settings: importing it loads every settings source it ships (CLI, dotenv, TOML,
YAML, Azure, GCP, AWS), about a third of a handler's cold start and 0.3 MB of the package, to read a
dozen flat variables. These models need only what this base does, as pydantic-settings does it with
`case_sensitive=False`: a field takes the environment variable of its name in any case, keyword
arguments win over the environment, defaults are validated too, values reach the field's validators
as the strings they are (lists and maps are split by the models' own `mode="before"` validators, never
JSON-decoded), and the errors are pydantic's ValidationError, raised when the model is built.
"""

from __future__ import annotations

import os
from typing import Any

from pydantic import BaseModel, ConfigDict, model_validator


class EnvSettings(BaseModel):
    """Subclass it and declare fields; `Model()` reads them from `os.environ`."""

    model_config = ConfigDict(extra="ignore", validate_default=True)

    @model_validator(mode="before")
    @classmethod
    def _from_environment(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        environment = {name.lower(): value for name, value in os.environ.items()}
        found = {name: environment[name] for name in cls.model_fields if name in environment}
        return {**found, **{key: value for key, value in data.items() if not key.startswith("_")}}
