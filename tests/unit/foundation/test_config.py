"""Settings parsing: defaults, precedence, strictness, and keeping the token secret (pure, no trio)."""

from __future__ import annotations

from pathlib import Path

import pytest

from codexgram.config import ENV_NAMES, Secret, Settings, describe_settings, load_settings, parse_dotenv
from codexgram.errors import ConfigError

TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw0"
BASE_ENV = {"HOME": "/home/dev", "PATH": "/usr/bin"}


def load(env: dict[str, str] | None = None, **kwargs: Path | None) -> Settings:
    return load_settings({**BASE_ENV, **(env or {})}, **kwargs)


def test_defaults_need_nothing_set() -> None:
    settings = load()
    assert settings.telegram_token is None
    assert settings.telegram_api_url == "https://api.telegram.org"
    assert settings.data_dir == Path("/home/dev/.local/share/codexgram")
    assert settings.db_path == Path("/home/dev/.local/share/codexgram/codexgram.sqlite3")
    assert settings.upload_dir == Path("/home/dev/.local/share/codexgram/uploads")
    assert settings.codex_socket == Path("/home/dev/.local/share/codexgram/codex.sock")
    assert settings.max_message_chunks == 5
    assert settings.log_level == "INFO"


def test_xdg_directories_are_honoured() -> None:
    settings = load({"XDG_DATA_HOME": "/data", "XDG_RUNTIME_DIR": "/run/user/1000"})
    assert settings.db_path == Path("/data/codexgram/codexgram.sqlite3")
    assert settings.codex_socket == Path("/run/user/1000/codexgram/codex.sock")


def test_every_setting_from_the_environment() -> None:
    settings = load(
        {
            "CODEXGRAM_TELEGRAM_TOKEN": TOKEN,
            "CODEXGRAM_TELEGRAM_API_URL": "http://127.0.0.1:8081/",
            "CODEXGRAM_DATA_DIR": "/var/lib/cg",
            "CODEXGRAM_DB": "~/bot.db",
            "CODEXGRAM_UPLOAD_DIR": "/srv/uploads",
            "CODEXGRAM_CODEX_SOCKET": "/run/codex.sock",
            "CODEXGRAM_CODEX_BIN": "/opt/codex/bin/codex",
            "CODEXGRAM_LOG_LEVEL": "debug",
            "CODEXGRAM_MAX_MESSAGE_CHUNKS": "8",
            "CODEXGRAM_POLL_TIMEOUT": "25",
            "CODEXGRAM_CODEX_CALL_TIMEOUT": "12.5",
        }
    )
    assert settings.telegram_token == Secret(TOKEN)
    assert settings.telegram_api_url == "http://127.0.0.1:8081"  # trailing slash dropped
    assert settings.db_path == Path("/home/dev/bot.db")  # ~ expanded with HOME
    assert settings.upload_dir == Path("/srv/uploads")
    assert settings.codex_socket == Path("/run/codex.sock")
    assert settings.codex_bin == Path("/opt/codex/bin/codex")
    assert settings.log_level == "DEBUG"
    assert (settings.max_message_chunks, settings.poll_timeout, settings.codex_call_timeout) == (8, 25, 12.5)


def test_relative_paths_become_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert load({"CODEXGRAM_DB": "data/bot.db"}).db_path == tmp_path / "data" / "bot.db"


def test_environment_beats_dotenv_beats_toml(tmp_path: Path) -> None:
    toml = tmp_path / "codexgram.toml"
    toml.write_text('log_level = "ERROR"\nmax_message_chunks = 3\npoll_timeout = 10\ndb_path = "/toml.db"\n')
    dotenv = tmp_path / ".env"
    dotenv.write_text(
        "# comment\n\nexport CODEXGRAM_MAX_MESSAGE_CHUNKS=4\nCODEXGRAM_POLL_TIMEOUT='20'\nOTHER=x\n"
    )
    settings = load({"CODEXGRAM_POLL_TIMEOUT": "30"}, config_file=toml, dotenv=dotenv)
    assert settings.log_level == "ERROR"  # only in TOML
    assert settings.db_path == Path("/toml.db")  # only in TOML
    assert settings.max_message_chunks == 4  # .env over TOML
    assert settings.poll_timeout == 30  # environment over both


def test_a_missing_dotenv_is_fine_but_a_missing_config_file_is_not(tmp_path: Path) -> None:
    assert load(dotenv=tmp_path / "absent.env").telegram_token is None
    with pytest.raises(ConfigError, match="cannot read"):
        load(config_file=tmp_path / "absent.toml")


@pytest.mark.parametrize(
    ("env", "key"),
    [
        ({"CODEXGRAM_TELEGRAM_TOKN": "x"}, "CODEXGRAM_TELEGRAM_TOKN"),
        ({"CODEXGRAM_TELEGRAM_API_URL": "ftp://example.org"}, "CODEXGRAM_TELEGRAM_API_URL"),
        ({"CODEXGRAM_TELEGRAM_API_URL": "api.telegram.org"}, "CODEXGRAM_TELEGRAM_API_URL"),
        ({"CODEXGRAM_TELEGRAM_API_URL": "http://[zz]"}, "CODEXGRAM_TELEGRAM_API_URL"),
        ({"CODEXGRAM_TELEGRAM_API_URL": "http://localhost:99999"}, "CODEXGRAM_TELEGRAM_API_URL"),
        ({"CODEXGRAM_TELEGRAM_API_URL": "http://user@:80"}, "CODEXGRAM_TELEGRAM_API_URL"),
        ({"CODEXGRAM_MAX_MESSAGE_CHUNKS": "five"}, "CODEXGRAM_MAX_MESSAGE_CHUNKS"),
        ({"CODEXGRAM_MAX_MESSAGE_CHUNKS": "0"}, "CODEXGRAM_MAX_MESSAGE_CHUNKS"),
        ({"CODEXGRAM_POLL_TIMEOUT": "51"}, "CODEXGRAM_POLL_TIMEOUT"),
        ({"CODEXGRAM_CODEX_CALL_TIMEOUT": "soon"}, "CODEXGRAM_CODEX_CALL_TIMEOUT"),
        ({"CODEXGRAM_LOG_LEVEL": "LOUD"}, "CODEXGRAM_LOG_LEVEL"),
        ({"CODEXGRAM_DB": ""}, "CODEXGRAM_DB"),
        ({"CODEXGRAM_DB": "/a\x00b"}, "CODEXGRAM_DB"),
        ({"CODEXGRAM_TELEGRAM_TOKEN": "not a token"}, "CODEXGRAM_TELEGRAM_TOKEN"),
    ],
)
def test_bad_environment_values_name_the_key(env: dict[str, str], key: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load(env)
    assert caught.value.key == key
    assert str(caught.value).startswith(f"{key}: ")


def test_an_unknown_key_in_dotenv_names_it(tmp_path: Path) -> None:
    dotenv = tmp_path / ".env"
    dotenv.write_text("CODEXGRAM_DBB=/x\n")
    with pytest.raises(ConfigError) as caught:
        load(dotenv=dotenv)
    assert caught.value.key == "CODEXGRAM_DBB"


def test_a_malformed_dotenv_line_names_file_and_line_not_content(tmp_path: Path) -> None:
    dotenv = tmp_path / ".env"
    dotenv.write_text(f"CODEXGRAM_LOG_LEVEL=INFO\n{TOKEN}\n")
    with pytest.raises(ConfigError) as caught:
        load(dotenv=dotenv)
    assert caught.value.key == f"{dotenv}:2"
    assert TOKEN not in str(caught.value)


@pytest.mark.parametrize(
    ("toml", "key_part"),
    [
        ('colour = "blue"\n', "colour"),
        ("poll_timeout = 0\n", "poll_timeout"),
        ("log_level = true\n", "log_level"),
        ('log_level = ["INFO"]\n', "log_level"),
    ],
)
def test_bad_toml_names_the_key(tmp_path: Path, toml: str, key_part: str) -> None:
    path = tmp_path / "c.toml"
    path.write_text(toml)
    with pytest.raises(ConfigError) as caught:
        load(config_file=path)
    assert caught.value.key == f"{path}: {key_part}"


def test_invalid_toml_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text("this is = = not toml")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load(config_file=path)


def test_the_token_is_not_in_reprs_errors_or_descriptions() -> None:
    settings = load({"CODEXGRAM_TELEGRAM_TOKEN": TOKEN})
    assert settings.telegram_token is not None
    assert settings.telegram_token.reveal() == TOKEN
    for text in (repr(settings), str(settings), repr(settings.telegram_token), str(settings.telegram_token)):
        assert TOKEN not in text
        assert "AAHdq" not in text
    assert "Secret('***')" in repr(settings)
    assert ("CODEXGRAM_TELEGRAM_TOKEN", "(set)") in describe_settings(settings)
    assert TOKEN not in repr(describe_settings(settings))
    # A token of the wrong shape: the error must not echo it either.
    almost = TOKEN.replace(":", ";")
    with pytest.raises(ConfigError) as caught:
        load({"CODEXGRAM_TELEGRAM_TOKEN": almost})
    assert almost not in str(caught.value)


def test_secret_fingerprint_is_stable_and_short() -> None:
    assert Secret(TOKEN).fingerprint() == Secret(TOKEN).fingerprint()
    assert Secret(TOKEN).fingerprint() != Secret(TOKEN + "x").fingerprint()
    assert len(Secret(TOKEN).fingerprint()) == 12
    assert Secret(TOKEN).fingerprint() not in TOKEN


def test_an_empty_token_means_not_set() -> None:
    assert load({"CODEXGRAM_TELEGRAM_TOKEN": "  "}).telegram_token is None


def test_no_home_and_no_data_dir_is_a_clear_error() -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings({})
    assert caught.value.key == "CODEXGRAM_DATA_DIR"
    assert load_settings({"CODEXGRAM_DATA_DIR": "/d"}).db_path == Path("/d/codexgram.sqlite3")


def test_parse_dotenv_handles_quotes_and_export() -> None:
    assert parse_dotenv("export A=1\nB = \"two words\"\nC='x=y'\n# D=4\n") == {
        "A": "1",
        "B": "two words",
        "C": "x=y",
    }


def test_env_names_cover_the_issue_names() -> None:
    for name in (
        "CODEXGRAM_TELEGRAM_TOKEN",
        "CODEXGRAM_TELEGRAM_API_URL",
        "CODEXGRAM_CODEX_SOCKET",
        "CODEXGRAM_DB",
        "CODEXGRAM_UPLOAD_DIR",
    ):
        assert name in ENV_NAMES
