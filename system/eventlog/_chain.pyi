from collections.abc import Callable, Sequence
from typing import Any

def chain(
    batch: Sequence[Any],
    head_seq: int,
    head_hash: bytes,
    version_of: Callable[[str], int],
    recorded_time: int,
    encoder: Any,
    logged_type: Callable[..., Any],
    ids: tuple[dict[str, int], dict[str, int], Callable[[str], int], Callable[[str], int]] | None,
    base: int | None,
) -> tuple[list[Any], Any, dict[str, int], bytes, Any]: ...
