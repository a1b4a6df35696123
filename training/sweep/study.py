"""Optuna storages and studies as GAN Studio uses them. Torch-free: the app reads studies with it.

The storage is Optuna's own: by default a SQLite file, ``RUNS/sweeps.db``, for the workers of one
machine; a ``postgresql://`` or ``mysql://`` URL lets workers on several machines share a study.
A study records what every worker must agree on (user attributes): the search space, the base
config and the number of trials; a worker that joins with anything else is refused.

Workers send a heartbeat; a trial whose worker stopped beating (killed, machine lost) for the
grace period is failed by the next worker that looks, and a copy of it is queued (Optuna's
RetryHeartbeatStaleTrialCallback) that carries its run folder, so the next worker resumes that
run from its last checkpoint. A failed trial never counts as a result.
"""
from __future__ import annotations

import fcntl
import json
import os
import time
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import quote

import optuna
from optuna.storages import RDBStorage, RetryHeartbeatStaleTrialCallback
from optuna.trial import TrialState

from training.config import ConfigError

DB_NAME = "sweeps.db"
COUNTED = (TrialState.COMPLETE, TrialState.PRUNED)  # the trials that are results: a study has its N of these
# Fields that may differ between the machines of one study (where the data lies, which device).
MACHINE_FIELDS = ("data_root", "device")
RETRIES = 3  # a trial whose workers die this many times ends failed
SCHEMA_ATTEMPTS = 5  # tries at opening a new server database while other workers make its tables
# SQLAlchemy's driver module for a URL -> the pip package holding it. SQLAlchemy 2.1 opens a plain
# postgresql:// URL with psycopg (3); postgresql+psycopg2:// asks for the older psycopg2.
DRIVER_PACKAGES = {"psycopg": "psycopg[binary]", "psycopg2": "psycopg2-binary", "pymysql": "PyMySQL",
                   "MySQLdb": "mysqlclient"}


class StudyError(ConfigError):
    """A study that cannot be opened, joined or found; the message says which and why."""


def default_storage(runs_dir: str | Path) -> str:
    return sqlite_url(Path(runs_dir) / DB_NAME)


def sqlite_url(path: Path, read_only: bool = False) -> str:
    path = Path(path).absolute()
    if read_only:  # SQLite's URI form: the app never writes a study, not even a lock or a migration
        return f"sqlite:///file:{quote(str(path))}?mode=ro&uri=true"
    return f"sqlite:///{path}"


def claim_file(url: str) -> Path | None:
    """The lock file beside a SQLite study file, which the workers of that machine take in turns to
    claim trials; None for a database server."""
    if not url.startswith("sqlite:///") or "mode=ro" in url:
        return None
    return Path(url.removeprefix("sqlite:///") + ".claim")


def open_storage(url: str, heartbeat_s: int | None = 60, grace_s: int | None = None) -> RDBStorage:
    """Optuna's RDB storage at ``url``, with heartbeats every ``heartbeat_s`` (None: no heartbeat)."""
    if url.startswith("sqlite:///") and "mode=ro" not in url:
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    engine = {"connect_args": {"timeout": 60}} if url.startswith("sqlite") else {"pool_pre_ping": True}
    beat = {}
    if heartbeat_s:
        beat = dict(heartbeat_interval=heartbeat_s, grace_period=grace_s or 2 * heartbeat_s,
                    heartbeat_stale_trial_callback=retry_callback())
    try:
        return _made_or_found(url, engine, beat)
    except ImportError as error:  # a PostgreSQL/MySQL URL without its driver
        module = (getattr(error.__cause__, "name", None) or error.name or "").split(".")[0]  # Optuna re-raises
        fix = f'pip install "{DRIVER_PACKAGES[module]}"' if module in DRIVER_PACKAGES else "install it"
        raise StudyError(f"--storage {redact(url)}: the database's Python driver ({module or 'unknown'}) is not "
                         f"installed; {fix} (docs/sweeps.md).") from None
    except Exception as error:  # noqa: BLE001 - SQLAlchemy's many errors: a URL that does not open
        raise StudyError(f"--storage {redact(url)} cannot be opened: {' '.join(str(error).split())[:300]}") from None


def _made_or_found(url: str, engine: dict[str, Any], beat: dict[str, Any]) -> RDBStorage:
    """Optuna's storage, its tables made when they are not there yet. Workers on several machines that
    open a new server database at once race to make them (SQLite's workers take ``schema_lock``
    instead): the loser's CREATE fails with "already exists", and its next try finds the tables."""
    def storage() -> RDBStorage:
        with quiet(), schema_lock(claim_file(url)):
            return RDBStorage(url, engine_kwargs=engine, **beat)

    for attempt in range(1, SCHEMA_ATTEMPTS):
        try:
            return storage()
        except Exception as error:  # noqa: BLE001 - SQLAlchemy's IntegrityError or ProgrammingError, by driver
            if "already exists" not in str(error):
                raise
            time.sleep(0.25 * attempt)
    return storage()


@contextmanager
def schema_lock(path: Path | None) -> Iterator[None]:
    """Holds the claim lock while Optuna makes its tables: two workers that open a new SQLite file at
    once would both issue CREATE TABLE, and the second would fail with "table studies already exists"."""
    if path is None:
        yield
        return
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


@contextmanager
def quiet() -> Iterator[None]:
    """Optuna's heartbeat tools still call themselves experimental: docs/sweeps.md says so, once."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        yield


def retry_callback() -> RetryHeartbeatStaleTrialCallback:
    """Queues a copy of a lost trial (its params and user attributes, the run folder among them)."""
    with quiet():
        return RetryHeartbeatStaleTrialCallback(max_retry=RETRIES)


def open_read_only(path: Path) -> RDBStorage:
    """A SQLite study file opened for reading only (the app): no tables made, no migration, no lock file."""
    with quiet():
        return RDBStorage(sqlite_url(path, read_only=True), skip_table_creation=True, skip_compatibility_check=True)


def redact(url: str) -> str:
    """The URL without its password, for messages."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.rsplit('@', 1)[1]}"
    return url


def agreement(space: dict[str, Any], base: dict[str, Any], trials: int) -> dict[str, Any]:
    """What the workers of one study must share, as JSON values."""
    shared = {k: v for k, v in base.items() if k not in MACHINE_FIELDS}
    return json.loads(json.dumps({"space": space, "base": shared, "trials": trials}))


def create_or_join(name: str, storage: RDBStorage, terms: dict[str, Any], direction: str = "minimize",
                   pruner: optuna.pruners.BasePruner | None = None, seed: int | None = None) -> optuna.Study:
    """The study ``name`` in ``storage``: made with ``terms`` when new; joined when its terms are these."""
    sampler = optuna.samplers.TPESampler(seed=seed, n_startup_trials=min(10, max(terms["trials"] // 3, 1)))
    study = optuna.create_study(storage=storage, study_name=name, direction=direction, pruner=pruner,
                                sampler=sampler, load_if_exists=True)
    recorded = study.user_attrs
    for _ in range(100):  # a worker that made the study a moment ago may still be writing its terms, one by one
        if not recorded or all(key in recorded for key in terms):
            break
        time.sleep(0.05)
        recorded = study.user_attrs
    if not recorded:
        for key, value in terms.items():
            study.set_user_attr(key, value)
        return study
    for key in ("space", "base", "trials"):
        if recorded.get(key) != terms[key]:
            what = {"space": "search space", "base": "base config (preset, fixed values, --set)",
                    "trials": "number of trials"}[key]
            raise StudyError(f"study {name!r} was started with another {what}: start every worker with the same "
                             f"--preset, --space, --set and --trials (it has {recorded.get(key)!r}), or name a new "
                             "--study.")
    return study


def load_study(name: str, storage: str | RDBStorage) -> optuna.Study:
    try:
        return optuna.load_study(study_name=name, storage=storage)
    except KeyError:
        names = study_names(storage)
        listing = f"it holds {', '.join(names)}" if names else "it holds no study yet"
        raise StudyError(f"no study {name!r} in the storage ({listing}).") from None


def study_names(storage: str | RDBStorage) -> list[str]:
    return sorted(s.study_name for s in optuna.get_all_study_summaries(storage, include_best_trial=False))


def counts(study: optuna.Study) -> dict[str, int]:
    """How many trials are in each state: complete, pruned, fail, running, waiting."""
    result = {state.name.lower(): 0 for state in TrialState}
    for trial in study.get_trials(deepcopy=False):
        result[trial.state.name.lower()] += 1
    return result


def results(study: optuna.Study) -> int:
    return sum(1 for t in study.get_trials(deepcopy=False, states=COUNTED))


def best_trials(study: optuna.Study, top: int | None = None) -> list[optuna.trial.FrozenTrial]:
    """Complete trials, lowest FID first."""
    done = sorted(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)), key=lambda t: t.value)
    return done[:top] if top else done
