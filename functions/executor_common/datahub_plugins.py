"""Which DataHub plugins (acryl-datahub extras) a run needs: one rule for the runner and the dispatcher.

The runner installs at run start what its image lacks of these (`executor_runner/plugins.py`); the
dispatcher launches the run on the smallest runner image that bakes all of them (`dispatcher/images.py`).
Import-light: no acryl-datahub here (the dispatcher has none).
"""

from __future__ import annotations

import re
from collections.abc import Container, Sequence

#: An extras name as packaging defines it (PEP 685), bounded; fullmatch, linear (one bounded class in between).
PLUGIN_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._-]{0,98}[A-Za-z0-9])?")


def run_plugins(source_type: str, extra_plugins: Sequence[str], extras: Container[str] | None = None) -> list[str]:
    """The source type's plugin first, then the extra plugins, each once.

    A source type is a plugin when acryl-datahub has an extra of that name (`extras`, read from the
    installed CLI's metadata). Without that list (the dispatcher has no acryl-datahub) every source type
    counts as one, so a type that is not an extra (`file`, a custom `module.Class`) is never taken for
    one an image has baked.
    """
    own = [source_type] if extras is None or source_type in extras else []
    return own + [plugin for plugin in dict.fromkeys(p.strip() for p in extra_plugins) if plugin and plugin not in own]
