"""How the CLI reaches the running daemon: its address from the config, the local admin token."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hub.config import HubConfig
from hub.domain.auth import ADMIN_TOKEN_FILE

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_NOT_RUNNING = 3
EXIT_AUTH = 4


class CliError(Exception):
    """An error to print for the technician, with the exit code to leave with."""

    def __init__(self, message: str, exit_code: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.exit_code = exit_code


@dataclass
class HubClient:
    base_url: str
    token: str
    timeout: float = 10.0

    @classmethod
    def from_config(cls, config: HubConfig) -> HubClient:
        host = config.api.host
        if host in ("", "0.0.0.0", "::"):
            host = "127.0.0.1"
        elif ":" in host:
            host = f"[{host}]"
        token_path = config.data_dir / ADMIN_TOKEN_FILE
        return cls(base_url=f"http://{host}:{config.api.port}", token=read_admin_token(token_path))

    def wait_for_job(self, job: dict[str, Any], timeout: float) -> dict[str, Any]:
        """Poll a print job until it leaves queued/printing or ``timeout`` seconds pass."""
        deadline = time.monotonic() + timeout
        while job["state"] in ("queued", "printing") and time.monotonic() < deadline:
            time.sleep(0.2)
            job = self.request("GET", f"/api/v1/jobs/{job['id']}")
        return job

    def request(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(  # noqa: S310 - the URL is built from our config
            self.base_url + path,
            data=data,
            method=method,
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            raise _api_error(exc) from None
        except urllib.error.URLError as exc:
            raise CliError(
                f"the hub is not running or not reachable at {self.base_url} ({exc.reason}).\n"
                "Start it with 'systemctl start smartpos-hub' (or 'smartpos-hub serve --config PATH') "
                "and check 'journalctl -u smartpos-hub'.",
                EXIT_NOT_RUNNING,
            ) from None
        except TimeoutError:
            raise CliError(
                f"the hub at {self.base_url} did not answer within {self.timeout:.0f}s",
                EXIT_NOT_RUNNING,
            ) from None


def _api_error(exc: urllib.error.HTTPError) -> CliError:
    try:
        error = json.loads(exc.read())["error"]
        message = f"{error['message']} [{error['code']}]"
    except (ValueError, KeyError, TypeError):
        message = f"HTTP {exc.code} {exc.reason}"
    if exc.code in (401, 403):
        return CliError(
            f"the hub refused the local admin credential: {message}.\n"
            "The daemon rewrites it at each start; if it was restarted with another data dir, pass the same --config.",
            EXIT_AUTH,
        )
    return CliError(message, EXIT_FAILED)


def read_admin_token(path: Path) -> str:
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        raise CliError(
            f"no admin credential at {path}: the hub has not been started with this data dir yet "
            "(check --config or SMARTPOS_DATA_DIR)",
            EXIT_NOT_RUNNING,
        ) from None
    except PermissionError:
        raise CliError(
            f"cannot read {path}: run this as root or as the smartpos service user (sudo smartpos-hub ...)",
            EXIT_AUTH,
        ) from None
