"""A throwaway PostgreSQL server for the sweep tests that need a real database server: Debian's
`postgresql` binaries (scripts/install.sh --dev installs them), a cluster made with initdb in a
fresh folder, listening only on a unix socket in that folder, a role with a password (scram-sha-256,
as a server for several machines would ask), stopped and deleted at the end of the module.

initdb refuses to run as root, and tests run as root here and in CI: the server then runs as the
`postgres` system user (runuser), in a folder under /tmp that it owns (pytest's tmp_path is
root's alone). Where the binaries or psycopg (the driver) are missing the tests are skipped with the reason, but
never under CI (CI=true), where a skip would hide that they did not run."""
from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

PG_USER, PG_PASSWORD, PG_DATABASE = "sweeper", "s3cret-pw", "sweeps"


@dataclass(frozen=True)
class PostgresServer:
    folder: Path  # the cluster's data and its socket, owned by the server's system user
    password: str = PG_PASSWORD

    @property
    def url(self) -> str:
        """What the workers take as --storage."""
        return self.url_with()

    def url_with(self, user: str = PG_USER, password: str | None = None, database: str = PG_DATABASE) -> str:
        return f"postgresql://{user}:{password or self.password}@/{database}?host={self.folder}"


def _unavailable(reason: str):
    if os.environ.get("CI"):
        pytest.fail(f"{reason}: CI must run the PostgreSQL tests (scripts/install.sh --dev installs the server "
                    "and psycopg[binary])")
    pytest.skip(reason)


def _server_bin() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[4]))
    if not found:
        _unavailable("no PostgreSQL server binaries in /usr/lib/postgresql (Debian's `postgresql` package)")
    return Path(found[-1]).parent


def _server_user() -> pwd.struct_passwd | None:
    """The user the server runs as: None for ourselves, `postgres` when we are root (initdb refuses root)."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam("postgres")
    except KeyError:
        _unavailable("running as root, and there is no `postgres` system user to run the server as")


def _require_driver() -> None:
    try:
        import psycopg  # noqa: F401 - the driver SQLAlchemy 2.1 takes for postgresql:// URLs
    except ImportError:
        _unavailable("no psycopg (pip install -r requirements-dev.txt installs psycopg[binary])")


@pytest.fixture(scope="module")
def postgres():
    _require_driver()
    bin_dir = _server_bin()
    server_user = _server_user()
    # /tmp itself: the server user must reach the folder (TMPDIR may be root's alone); short: a socket path
    # has at most 107 bytes
    folder = Path(tempfile.mkdtemp(prefix="gan-studio-pg-", dir="/tmp"))
    as_server = ["runuser", "-u", server_user.pw_name, "--"] if server_user else []
    if server_user:
        os.chown(folder, server_user.pw_uid, server_user.pw_gid)
    data, password_file = folder / "data", folder / "password"
    password_file.write_text(PG_PASSWORD)
    if server_user:
        os.chown(password_file, server_user.pw_uid, server_user.pw_gid)

    def tool(*argv: str, prefix: list[str] = as_server) -> None:
        done = subprocess.run([*prefix, *argv], capture_output=True, text=True, timeout=60,
                              env={**os.environ, "PGPASSWORD": PG_PASSWORD})
        assert done.returncode == 0, f"{Path(argv[0]).name} failed: {done.stdout[-2000:]}{done.stderr[-2000:]}"

    try:
        tool(str(bin_dir / "initdb"), "-D", str(data), "-U", PG_USER, f"--pwfile={password_file}",
             "--auth=scram-sha-256", "-E", "UTF8", "--no-sync")
        tool(str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(folder / "server.log"), "-w", "-t", "60",
             "-o", f"-c listen_addresses='' -k {folder} -c fsync=off", "start")
        # as a client, over the socket, with the role's password: as a worker connects
        tool(str(bin_dir / "createdb"), "-h", str(folder), "-U", PG_USER, PG_DATABASE, prefix=[])
        yield PostgresServer(folder)
    finally:
        subprocess.run([*as_server, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"],
                       capture_output=True, timeout=60)
        shutil.rmtree(folder, ignore_errors=True)
