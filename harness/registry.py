"""Name -> object lookups whose misses say what was meant."""

from __future__ import annotations

import difflib
from typing import Generic, Iterable, Iterator, Mapping, TypeVar

T = TypeVar("T")


class UnknownName(KeyError):
    def __str__(self) -> str:  # KeyError would quote the whole sentence
        return str(self.args[0])


class Registry(Mapping[str, T], Generic[T]):
    def __init__(self, kind: str, items: Iterable[tuple[str, T]], hint: str = "") -> None:
        self.kind, self.hint = kind, hint
        self._items: dict[str, T] = {}
        for name, item in items:
            if name in self._items:
                raise ValueError(f"{kind} {name!r} is registered twice")
            self._items[name] = item

    def __getitem__(self, name: str) -> T:
        try:
            return self._items[name]
        except KeyError:
            close = difflib.get_close_matches(name, self._items, n=3, cutoff=0.5)
            guess = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
            raise UnknownName(f"Unknown {self.kind} {name!r}.{guess}{self.hint}") from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)
