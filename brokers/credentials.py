"""Venue keys from the environment (or a git-ignored .env loaded into it), never from config files.

A venue names the keys it needs as `CredentialSpec`s; the environment variable is
`<PREFIX>_<SUFFIX>`, the prefix defaulting to the venue kind upper-cased
(ALPACA_API_KEY). A missing required key makes the venue unavailable with a
message that names every missing variable.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from brokers.base import CredentialsMissing


@dataclass(frozen=True, slots=True)
class CredentialSpec:
    suffix: str
    required: bool = True
    help: str = ""


class Credentials(Mapping[str, str]):
    """Keys by suffix. Its repr never shows a value, so it can sit in logged objects safely."""

    def __init__(self, values: Mapping[str, str]) -> None:
        self._values = dict(values)

    def __getitem__(self, key: str) -> str:
        return self._values[key]

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"Credentials({sorted(self._values)} set)"


def env_name(prefix: str, spec: CredentialSpec) -> str:
    return f"{prefix}_{spec.suffix}"


def read_credentials(
    venue: str, prefix: str, specs: Sequence[CredentialSpec], environ: Mapping[str, str]
) -> Credentials:
    values: dict[str, str] = {}
    missing: list[str] = []
    for spec in specs:
        value = environ.get(env_name(prefix, spec), "").strip()
        if value:
            values[spec.suffix] = value
        elif spec.required:
            missing.append(env_name(prefix, spec))
    if missing:
        raise CredentialsMissing(
            f"venue {venue!r} is unavailable: set {', '.join(missing)} in the environment or in .env"
        )
    return Credentials(values)
