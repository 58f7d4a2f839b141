"""Agencies post asset events to Airflow's REST API with a token of their own.

With Airflow's simple auth manager (the default here), every agency that has a dataset with
`trigger: {by: asset_event}` gets its own user, named by its agency code, with the role `op`
(the least role that may post asset events; `viewer` may not). `satudata up` puts them in
`AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS`; the api-server generates each user's password once,
into `<airflow home>/simple_auth_manager_passwords.json.generated`, where the operator reads it and
hands it to the agency. The agency's system trades it for a JWT (`POST /auth/token`, valid for
`[api_auth] jwt_expiration_time`, 24 h by default) and posts events with it:

    TOKEN=$(curl -s -X POST http://127.0.0.1:8080/auth/token -H 'Content-Type: application/json' \\
            -d '{"username": "disdik", "password": "..."}' | jq -r .access_token)

Revoking an agency: remove it from the catalog (or its asset_event datasets) and restart the
api-server; its tokens stop working when the JWT secret is rotated or they expire. The simple auth
manager cannot restrict a user to its own assets: an `op` user may post to any asset. Per-asset
permissions need another auth manager (FAB, Keycloak).
"""

from __future__ import annotations

import json
import logging
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from ingestion.catalog import Catalog, CatalogError, load_catalog

log = logging.getLogger(__name__)

AGENCY_ROLE = "op"
PASSWORDS_FILE = "simple_auth_manager_passwords.json.generated"


def agency_users(catalog: Catalog) -> list[str]:
    """Agency codes that post asset events (one user each), sorted."""
    return sorted({entry.agency.code for entry in catalog.datasets if entry.spec.trigger.by == "asset_event"})


def simple_auth_users(admin: str, catalog_dir: str | Path | None = None) -> str:
    """The value of AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS: the admin plus one `op` user per agency."""
    users = [f"{admin}:admin"]
    try:
        users += [f"{code}:{AGENCY_ROLE}" for code in agency_users(load_catalog(Path(catalog_dir) if catalog_dir else None))
                  if code != admin]
    except CatalogError as exc:  # the DAGs will report the catalog error; the admin can still log in
        log.warning("no agency users: %s", exc)
    return ",".join(users)


def password(home: Path, user: str) -> str:
    """The password the api-server generated for `user` (it writes them when it starts)."""
    path = home / PASSWORDS_FILE
    try:
        passwords = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise LookupError(f"{path}: no generated passwords yet (is the platform up?): {exc}") from None
    if user not in passwords:
        raise LookupError(f"{path}: no user '{user}' (only {', '.join(sorted(passwords))}); "
                          "agencies get a user when one of their datasets has trigger by: asset_event")
    return str(passwords[user])


def _call(url: str, method: str = "GET", body: Any = None, token: str | None = None) -> Any:
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, headers=headers, method=method)
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (the platform's own API)
        return json.loads(response.read())


def issue_token(base_url: str, user: str, secret: str) -> str:
    """Trade an agency's username and password for a JWT (`POST /auth/token`)."""
    return str(_call(f"{base_url}/auth/token", "POST", {"username": user, "password": secret})["access_token"])


def asset_id(base_url: str, token: str, name: str) -> int:
    """The id of the asset called `name` (`GET /api/v2/assets?name_pattern=...`)."""
    query = urllib.parse.urlencode({"name_pattern": name})
    found = [a for a in _call(f"{base_url}/api/v2/assets?{query}", token=token)["assets"] if a["name"] == name]
    if not found:
        raise LookupError(f"no asset '{name}' yet (has the dag-processor parsed the DAGs?)")
    return int(found[0]["id"])


def post_change(base_url: str, token: str, dataset_id: str, **extra: Any) -> dict[str, Any]:
    """Post an event on `signal__<dataset_id>`; returns the stored asset event."""
    body = {"asset_id": asset_id(base_url, token, f"signal__{dataset_id}"), "extra": extra}
    return dict(_call(f"{base_url}/api/v2/assets/events", "POST", body, token))
