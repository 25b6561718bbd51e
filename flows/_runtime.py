"""What every flow needs: settings and stores built from the environment of the process running the flow."""

from __future__ import annotations

from dataclasses import dataclass

from cloudact.control_plane import ControlPlaneStore, get_control_plane
from cloudact.keyring import Keyring, get_keyring
from cloudact.settings import Settings, get_settings
from cloudact.warehouse import Warehouse, get_warehouse


@dataclass(frozen=True)
class Runtime:
    """Settings, control plane, warehouse and keyring of this process."""

    settings: Settings
    control_plane: ControlPlaneStore
    warehouse: Warehouse
    keyring: Keyring


def runtime() -> Runtime:
    """Build the runtime from ``CLOUDACT_*`` (the worker's environment, or the test's)."""
    settings = get_settings()
    return Runtime(settings, get_control_plane(settings), get_warehouse(settings), get_keyring(settings))
