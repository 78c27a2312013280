"""Who may talk to the worker: a bearer token when one is configured, and JSON bodies only.

The token comes from `--auth-token-file FILE`, the `MULTIGYM_POLICY_TOKEN_FILE` or
`MULTIGYM_POLICY_TOKEN` environment variables, or `--auth-token` (visible to other local users in
the process list: prefer the environment or a file). Every route but `GET /health` then needs
`Authorization: Bearer <token>` (compared in constant time). Every POST needs `Content-Type:
application/json`: a form-encoded body (what a web page can post across origins without a
preflight) is refused with 415 before it is read.
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Awaitable, Callable
from pathlib import Path

from aiohttp import web

from .errors import UnauthorizedError, UnsupportedMediaTypeError, WorkerError

#: Routes open without a token (liveness probes).
OPEN_ROUTES = frozenset({"/health"})

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class TokenConfigError(ValueError):
    """The token file cannot be read or is empty."""


def resolve_token(flag: str | None, flag_file: str | None, env: dict[str, str] | None = None) -> str | None:
    """The token the worker requires, or None for none: `--auth-token-file`, `--auth-token`,
    `MULTIGYM_POLICY_TOKEN_FILE`, `MULTIGYM_POLICY_TOKEN`, first given wins.

    Raises:
        TokenConfigError: a named token file is unreadable or empty.
    """
    env = dict(os.environ) if env is None else env
    file = flag_file or (None if flag else env.get("MULTIGYM_POLICY_TOKEN_FILE"))
    if file:
        try:
            token = Path(file).read_text().strip()
        except OSError as e:
            raise TokenConfigError(f"cannot read the token file {file}: {e}") from e
        if not token:
            raise TokenConfigError(f"the token file {file} is empty")
        return token
    return flag or env.get("MULTIGYM_POLICY_TOKEN") or None


def guard(token: str | None, on_error: Callable[[WorkerError], web.StreamResponse]) -> Callable:
    """aiohttp middleware: bearer token (when `token`), then `Content-Type: application/json` on POST."""
    expected = f"Bearer {token}".encode() if token else None

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if expected is not None and request.path not in OPEN_ROUTES:
            given = request.headers.get("Authorization", "").encode()
            if not hmac.compare_digest(given, expected):
                resp = on_error(
                    UnauthorizedError(
                        "missing or wrong bearer token: send `Authorization: Bearer <token>` with the "
                        "worker's token (MULTIGYM_POLICY_TOKEN in the orchestrator's environment)"
                    )
                )
                resp.headers["WWW-Authenticate"] = 'Bearer realm="multigym-worker"'
                return resp
        if request.method == "POST" and request.content_type != "application/json":
            return on_error(
                UnsupportedMediaTypeError(
                    f"the body must be JSON sent with `Content-Type: application/json` "
                    f"(got {request.headers.get('Content-Type', 'none')!r})"
                )
            )
        return await handler(request)

    return middleware
