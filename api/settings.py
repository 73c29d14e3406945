"""Every setting, from the environment, with its default (the README lists them)."""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from api.db import default_database_url
from resolvers.context import DEVELOPMENT_FILE_URL_KEY, DEVELOPMENT_ID_KEY, FILE_URL_TTL
from resolvers.identity import AuthConfig
from schema.app import Limits

__all__ = ["Settings", "load_settings"]


def _int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


def _keys(raw: str) -> dict[str, bytes]:
    """``kid1:secret1,kid2:secret2`` → ``{"kid1": b"secret1", ...}``."""
    keys: dict[str, bytes] = {}
    for item in filter(None, (part.strip() for part in raw.split(","))):
        kid, sep, secret = item.partition(":")
        if not sep or not kid or not secret:
            raise ValueError("YUNSHANG_JWT_KEYS is 'kid:secret' pairs, comma-separated")
        keys[kid] = secret.encode()
    return keys


def _development_key(data_dir: Path) -> dict[str, bytes]:
    """A key kept in the data directory, so restarts and workers share it."""
    path = data_dir / "jwt-dev.key"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return {"dev": path.read_text().strip().encode()}


@dataclass(frozen=True)
class Settings:
    environment: str
    data_dir: Path
    database_url: str
    redis_url: str
    host: str
    port: int
    workers: int
    db_pool_min: int
    db_pool_max: int
    auth: AuthConfig
    limits: Limits
    upload_max_bytes: int
    upload_media_types: frozenset[str]
    ws_max_subscriptions: int
    ws_init_timeout: int
    event_queue_size: int
    cors_origins: tuple[str, ...] = field(default=())
    # Keys the fingerprints of ID numbers (resolvers.idnumber); changing it makes
    # every stored fingerprint unmatchable, so it is set once per installation.
    id_key: bytes = DEVELOPMENT_ID_KEY
    # Signs download URLs; derived from the active JWT key, so production, which
    # must set YUNSHANG_JWT_KEYS, has one without another setting.
    file_url_key: bytes = DEVELOPMENT_FILE_URL_KEY
    file_url_ttl: int = FILE_URL_TTL
    # Run scheduled jobs in this process (every worker may: a lock row per job).
    jobs: bool = False
    jobs_interval: int = 60

    @property
    def development(self) -> bool:
        return self.environment == "development"


DEFAULT_MEDIA_TYPES = (
    "image/jpeg,image/png,image/webp,application/pdf,"
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet,text/csv"
)


def _id_key(environment: str, jwt_keys: dict[str, bytes]) -> bytes:
    raw = os.environ.get("YUNSHANG_ID_KEY", "").strip()
    if raw:
        if len(raw) < 32:
            raise ValueError("YUNSHANG_ID_KEY needs at least 32 characters")
        return raw.encode()
    if environment != "development":
        raise ValueError("production needs YUNSHANG_ID_KEY")
    first = next(iter(jwt_keys.values()))
    return hmac.new(first, b"yunshang id numbers", hashlib.sha256).digest()


def _file_url_key(active: bytes) -> bytes:
    # A key of its own, so that a download signature is never a JWT signature.
    return hmac.new(active, b"yunshang file urls", hashlib.sha256).digest()


def load_settings() -> Settings:
    environment = os.environ.get("YUNSHANG_ENV", "development").strip()
    if environment not in {"development", "production"}:
        raise ValueError("YUNSHANG_ENV is development or production")
    data_dir = Path(os.environ.get("YUNSHANG_DATA_DIR", "data")).resolve()

    raw_keys = os.environ.get("YUNSHANG_JWT_KEYS", "")
    if raw_keys:
        keys = _keys(raw_keys)
    elif environment == "development":
        keys = _development_key(data_dir)
    else:
        raise ValueError("production needs YUNSHANG_JWT_KEYS")
    active = os.environ.get("YUNSHANG_JWT_ACTIVE_KID", "") or next(iter(keys))

    auth = AuthConfig(
        keys=keys,
        active_kid=active,
        issuer=os.environ.get("YUNSHANG_JWT_ISSUER", "yunshang"),
        audience=os.environ.get("YUNSHANG_JWT_AUDIENCE", "yunshang-api"),
        access_ttl=timedelta(seconds=_int("YUNSHANG_ACCESS_TTL_SECONDS", 900)),
        refresh_ttl=timedelta(days=_int("YUNSHANG_REFRESH_TTL_DAYS", 30)),
        max_failures_per_account=_int("YUNSHANG_LOGIN_MAX_FAILURES_ACCOUNT", 5),
        max_failures_per_address=_int("YUNSHANG_LOGIN_MAX_FAILURES_ADDRESS", 30),
        failure_window=timedelta(seconds=_int("YUNSHANG_LOGIN_WINDOW_SECONDS", 900)),
        development=environment == "development",
    )
    limits = Limits(
        max_depth=_int("YUNSHANG_MAX_DEPTH", 12),
        max_aliases=_int("YUNSHANG_MAX_ALIASES", 30),
        max_tokens=_int("YUNSHANG_MAX_TOKENS", 4000),
        development=environment == "development",
        fast_execution=os.environ.get("YUNSHANG_FAST_EXECUTION", "1") != "0",
    )
    media = os.environ.get("YUNSHANG_UPLOAD_MEDIA_TYPES", DEFAULT_MEDIA_TYPES)
    origins = os.environ.get("YUNSHANG_CORS_ORIGINS", "")
    return Settings(
        environment=environment,
        data_dir=data_dir,
        database_url=os.environ.get("DATABASE_URL", "")
        or default_database_url(data_dir),
        redis_url=os.environ.get("REDIS_URL", ""),
        host=os.environ.get("YUNSHANG_HOST", "127.0.0.1"),
        port=_int("YUNSHANG_PORT", 8000),
        workers=_int("YUNSHANG_WORKERS", 1),
        db_pool_min=_int("YUNSHANG_DB_POOL_MIN", 1),
        db_pool_max=_int("YUNSHANG_DB_POOL_MAX", 10),
        auth=auth,
        limits=limits,
        upload_max_bytes=_int("YUNSHANG_UPLOAD_MAX_BYTES", 10 * 1024 * 1024),
        upload_media_types=frozenset(m.strip() for m in media.split(",") if m.strip()),
        ws_max_subscriptions=_int("YUNSHANG_WS_MAX_SUBSCRIPTIONS", 20),
        ws_init_timeout=_int("YUNSHANG_WS_INIT_TIMEOUT_SECONDS", 10),
        event_queue_size=_int("YUNSHANG_EVENT_QUEUE_SIZE", 256),
        cors_origins=tuple(o.strip() for o in origins.split(",") if o.strip()),
        id_key=_id_key(environment, keys),
        file_url_key=_file_url_key(keys[active]),
        file_url_ttl=60 * _int("YUNSHANG_FILE_URL_MINUTES", FILE_URL_TTL // 60),
        jobs=os.environ.get("YUNSHANG_JOBS", "0") == "1",
        jobs_interval=_int("YUNSHANG_JOBS_INTERVAL_SECONDS", 60),
    )
