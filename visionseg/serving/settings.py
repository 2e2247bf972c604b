"""Settings of the watched folder and of the HTTP service, range-checked where built."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from visionseg.core.checks import check_int, check_number
from visionseg.core.errors import ConfigError, settings_from

T = TypeVar("T")

#: Names camera and copy software give files still being written; never read.
TEMP_SUFFIXES = (".part", ".tmp", ".temp", ".partial", ".crdownload", ".filepart", "~")


@dataclass(frozen=True)
class WatchSettings:
    """How the watched folder is polled.

    A file is read once its size and modification time have not changed for ``settle``
    seconds (camera software writes in place); the folder is scanned every ``poll``
    seconds. Unreadable files are moved to ``OUTPUT/unreadable/`` (``unreadable: move``)
    or left where they are (``list``); either way the results log names them and why.
    """

    poll: float = 0.2
    settle: float = 0.5
    unreadable: str = "move"
    recursive: bool = False

    def __post_init__(self) -> None:
        check_number("watch_settings.poll", self.poll, 0.01, maximum=60.0)
        check_number("watch_settings.settle", self.settle, 0.0, maximum=600.0)
        if self.unreadable not in ("move", "list"):
            raise ConfigError(
                f"watch_settings.unreadable must be 'move' or 'list', got {self.unreadable!r}"
            )

    @classmethod
    def from_dict(cls, value: Mapping[str, Any] | None) -> WatchSettings:
        return settings_from(cls, value, "watch_settings")


@dataclass(frozen=True)
class ServeSettings:
    """Where the service listens and what it accepts.

    ``max_upload_mb`` bounds the request body, ``max_megapixels`` the decoded image (a
    small compressed file can hold a huge image); ``port: 0`` takes any free port.
    """

    host: str = "127.0.0.1"
    port: int = 8000
    max_upload_mb: float = 64.0
    max_megapixels: float = 64.0
    log_level: str = "info"

    def __post_init__(self) -> None:
        check_int("server.port", self.port, 0, maximum=65535)
        check_number("server.max_upload_mb", self.max_upload_mb, 0.001, maximum=4096.0)
        check_number("server.max_megapixels", self.max_megapixels, 0.001, maximum=1024.0)
        if self.log_level not in ("critical", "error", "warning", "info", "debug"):
            raise ConfigError(f"server.log_level must be a uvicorn log level, got {self.log_level}")

    @property
    def max_bytes(self) -> int:
        return int(self.max_upload_mb * 1024 * 1024)

    @property
    def max_pixels(self) -> int:
        return int(self.max_megapixels * 1_000_000)

    @classmethod
    def from_dict(cls, value: Mapping[str, Any] | None) -> ServeSettings:
        return settings_from(cls, value, "server")
