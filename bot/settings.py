"""Settings from the environment and `.env` (prefix `NEWSBOT_`). Loaded by entry points only."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.core import ConfigError

IdList = Annotated[list[int], NoDecode]


class SettingsError(ConfigError):
    """A setting has a bad value; the message is one line naming the setting."""

    label = "bad setting"


class Settings(BaseSettings):
    """Every knob of newsbot; `.env.example` documents each one."""

    model_config = SettingsConfigDict(
        env_prefix="NEWSBOT_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    corpus_dir: Path = Path("corpus")
    data_dir: Path = Path("data")
    embedding_model: str = "packaged"
    # int8: 2.4x less CPU to index the whole corpus, dev-set retrieval and answers within 0.01 of fp32 (docs/onnx.md)
    embedding_backend: Literal["torch", "onnx", "onnx-int8"] = "onnx-int8"
    embedding_batch_size: int = Field(4, ge=1, le=4096)  # small batches: fastest and leanest for ONNX on CPU (docs/benchmarks.md)
    embedding_cache: bool = True
    chroma_host: str | None = None
    chroma_port: int | None = Field(None, ge=1, le=65535)
    chroma_timeout: float = Field(30.0, gt=0, allow_inf_nan=False)
    collection_prefix: str = Field("newsbot", min_length=3, pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
    max_article_chars: int = Field(200_000, ge=1000)
    top_k: int = Field(8, ge=1, le=50)
    index_refresh_seconds: float = Field(10.0, ge=0)

    llm_provider: Literal["none", "openai", "ollama"] = "none"
    llm_base_url: str | None = None
    llm_api_key: SecretStr | None = Field(None, validate_default=True)
    llm_model: str | None = Field(None, validate_default=True)
    # Bounds the whole LLM call, not each read (docs/llm.md).
    llm_timeout: float = Field(30.0, gt=0, le=600, allow_inf_nan=False)

    telegram_token: SecretStr | None = None
    telegram_base_url: str = "https://api.telegram.org/bot"
    telegram_webhook_secret: SecretStr | None = None
    allowed_user_ids: IdList = Field(default_factory=list)
    allowed_chat_ids: IdList = Field(default_factory=list)
    admin_user_ids: IdList = Field(default_factory=list)
    allow_everyone: bool = False
    rate_limit_per_minute: int = Field(12, ge=1)
    feedback_log: Path | None = None

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    @field_validator("allowed_user_ids", "allowed_chat_ids", "admin_user_ids", mode="before")
    @classmethod
    def _split_ids(cls, value: object) -> object:
        if isinstance(value, str):
            parts = [p.strip() for p in value.replace(";", ",").split(",")]
            return [p for p in parts if p]
        if isinstance(value, int):
            return [value]
        return value

    @field_validator("telegram_token", "telegram_webhook_secret", mode="before")
    @classmethod
    def _normalise_telegram_secret(cls, value: object) -> object:
        # The one place these are normalised: the bot, the redaction filter and the error
        # messages all get this value, so a stray space in .env can't leave the token unredacted.
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        if isinstance(value, str):
            return value.strip() or None
        return value

    @field_validator("corpus_dir", "data_dir", mode="before")
    @classmethod
    def _path_not_empty(cls, value: object) -> object:
        # An empty value would become Path("") == "." and read or write the current folder.
        if isinstance(value, str) and not value.strip():
            raise ValueError("must not be empty (give a folder path)")
        return value

    @field_validator("chroma_host", "llm_base_url", "llm_model", "feedback_log", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("chroma_port", mode="before")
    @classmethod
    def _empty_port(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("llm_api_key", "telegram_token", "telegram_webhook_secret", mode="before")
    @classmethod
    def _empty_secret(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("llm_model")
    @classmethod
    def _model_needed(cls, value: str | None, info: ValidationInfo) -> str | None:
        provider = info.data.get("llm_provider", "none")
        if value is None and provider != "none":
            raise PydanticCustomError(
                "llm_model_missing",
                "must name the model when NEWSBOT_LLM_PROVIDER={provider}",
                {"provider": provider},
            )
        return value

    @field_validator("llm_api_key")
    @classmethod
    def _key_needed(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        if value is None and info.data.get("llm_provider") == "openai" and not info.data.get("llm_base_url"):
            raise PydanticCustomError(
                "llm_api_key_missing",
                "required for the OpenAI API with NEWSBOT_LLM_PROVIDER=openai "
                "(or set NEWSBOT_LLM_BASE_URL to a local OpenAI-compatible endpoint)",
            )
        return value

    @property
    def server_mode(self) -> bool:
        """True when a Chroma server holds the index (nothing is written under data_dir)."""
        return bool(self.chroma_host)

    @property
    def feedback_path(self) -> Path:
        return self.feedback_log or self.data_dir / "feedback.jsonl"

    @property
    def telegram_secrets(self) -> list[str]:
        """The bot token and the webhook secret that are set (normalised): what logs must never show."""
        return [s.get_secret_value() for s in (self.telegram_token, self.telegram_webhook_secret) if s]

    # --- Live coverage: feeds and links (docs/feeds.md) ------------------------------------------
    feeds_file: Path | None = None  # default: feeds.toml in the corpus folder
    fetch_interval: float = Field(0.0, ge=0, le=10_080, allow_inf_nan=False)  # minutes; 0 = serve never polls
    fetch_timeout: float = Field(15.0, gt=0, le=300, allow_inf_nan=False)
    fetch_max_bytes: int = Field(5_000_000, ge=10_000, le=200_000_000)
    fetch_host_delay: float = Field(1.0, ge=0, le=60, allow_inf_nan=False)
    fetch_user_agent: str = Field("newsbot/0.1 (newsroom question answering; feed reader)", min_length=3)
    telegram_links_from_users: bool = False  # allowed users (not only admins) may /add links

    @field_validator("feeds_file", mode="before")
    @classmethod
    def _empty_feeds_file(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @property
    def feeds_path(self) -> Path:
        """The feeds file: NEWSBOT_FEEDS_FILE, else feeds.toml in the corpus folder."""
        return self.feeds_file or self.corpus_dir / "feeds.toml"


def load_settings(**overrides: object) -> Settings:
    """Read settings; a bad value raises `SettingsError` with one line naming the setting."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise SettingsError(describe_validation_error(exc)) from None


def describe_validation_error(exc: ValidationError) -> str:
    """One line per bad setting: `NEWSBOT_X: what is wrong (got 'value')`."""
    lines = []
    for err in exc.errors():
        name = "NEWSBOT_" + str(err["loc"][0]).upper() if err.get("loc") else "settings"
        got = err.get("input")
        shown = "" if isinstance(got, dict) or got is None else f" (got {str(got)[:60]!r})"
        lines.append(f"{name}: {err['msg']}{shown}")
    return "; ".join(lines)
