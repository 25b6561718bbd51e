"""Dependencies: settings, stores and the two kinds of authentication, as ``Annotated`` aliases."""

from __future__ import annotations

import hmac
import time
from typing import Annotated

from fastapi import Depends, Header, Path
from fastapi.concurrency import run_in_threadpool

from api.errors import Forbidden, NotFound, ServiceUnavailable, Unauthorized
from cloudact import api_keys
from cloudact.control_plane import ControlPlaneStore, Organization, OrgNotFoundError, get_control_plane
from cloudact.keyring import Keyring, get_keyring
from cloudact.settings import Settings, get_settings
from cloudact.tenancy import SLUG_PATTERN
from cloudact.warehouse import Warehouse, get_warehouse


async def settings_dep() -> Settings:
    """The process's settings (tests override this dependency)."""
    return get_settings()


# The small dependencies are coroutines: FastAPI runs sync ones in its threadpool, a hop each that cost more than the
# cached read itself.
SettingsDep = Annotated[Settings, Depends(settings_dep)]


_STORES: dict[tuple[str, str | None], ControlPlaneStore] = {}


async def control_plane_dep(settings: SettingsDep) -> ControlPlaneStore:
    """The control-plane store, one per configuration and process (it holds the connection pool)."""
    where = settings.supabase_url if settings.control_plane == "supabase" else settings.resolved_database_url
    key = (settings.control_plane, where)
    if key not in _STORES:
        _STORES[key] = get_control_plane(settings)
    return _STORES[key]


async def warehouse_dep(settings: SettingsDep) -> Warehouse:
    """The warehouse."""
    return get_warehouse(settings)


async def keyring_dep(settings: SettingsDep) -> Keyring:
    """The keyring guarding credentials."""
    return get_keyring(settings)


ControlPlaneDep = Annotated[ControlPlaneStore, Depends(control_plane_dep)]
WarehouseDep = Annotated[Warehouse, Depends(warehouse_dep)]
KeyringDep = Annotated[Keyring, Depends(keyring_dep)]


def require_root(
    settings: SettingsDep,
    root_key: Annotated[str | None, Header(alias="X-CA-Root-Key", description="The platform root key")] = None,
) -> None:
    """System operations: the root key, compared in constant time."""
    if settings.auth_disabled and settings.environment != "production":
        return
    if not root_key:
        raise Unauthorized("missing X-CA-Root-Key header", field="X-CA-Root-Key")
    if not hmac.compare_digest(root_key.encode(), settings.root_api_key.get_secret_value().encode()):
        raise Forbidden("invalid root key", field="X-CA-Root-Key")


OrgSlugPath = Annotated[str, Path(pattern=SLUG_PATTERN.pattern, description="The org's slug")]


# Orgs read by this process in the last ORG_CACHE_SECONDS: a plan or status change shows within that time.
ORG_CACHE_SECONDS = 2.0
_ORGS: dict[tuple[int, str], tuple[Organization, float]] = {}


async def require_org(
    org_slug: OrgSlugPath,
    settings: SettingsDep,
    control_plane: ControlPlaneDep,
    warehouse: WarehouseDep,
    api_key: Annotated[str | None, Header(alias="X-API-Key", description="The org's API key")] = None,
) -> Organization:
    """Org-scoped routes: the key must belong to the org in the path; any other org is 403 and reveals nothing.

    Recently verified keys and recently read orgs are answered from memory on the event loop; anything else is read
    in a worker thread.
    """
    if not (settings.auth_disabled and settings.environment != "production"):
        if not api_key:
            raise Unauthorized("missing X-API-Key header", field="X-API-Key")
        owner = api_keys.cached_owner(api_key, settings.auth_cache_seconds)
        if owner is None:
            owner = await run_in_threadpool(api_keys.authenticate, warehouse, api_key, settings.auth_cache_seconds)
        if owner is None:
            raise Unauthorized("invalid API key", field="X-API-Key")
        # Same answer whether the other org exists or not: the key's owner learns nothing about it.
        if not hmac.compare_digest(owner, org_slug):
            raise Forbidden("this API key does not belong to the org in the path", field="org_slug")
    key = (id(control_plane), org_slug)
    hit = _ORGS.get(key)
    if hit is not None and time.monotonic() - hit[1] < ORG_CACHE_SECONDS:
        return hit[0]
    try:
        org = await run_in_threadpool(control_plane.get_org, org_slug)
    except OrgNotFoundError:
        raise NotFound(f"no org {org_slug}", field="org_slug") from None
    except ConnectionError as exc:
        raise ServiceUnavailable(f"control plane unavailable: {exc}") from None
    _ORGS[key] = (org, time.monotonic())
    return org


RootDep = Annotated[None, Depends(require_root)]
OrgDep = Annotated[Organization, Depends(require_org)]
