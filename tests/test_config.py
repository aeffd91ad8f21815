from datetime import date
from pathlib import Path

import pytest

from ciblage.config import ConfigError, load_settings


def test_shipped_config_points_at_the_sample() -> None:
    s = load_settings()
    assert s.as_of == date(2026, 11, 1)
    assert s.horizon_months == 6
    assert s.source("sirene_etablissement").path.name == "StockEtablissement_utf8.zip"
    assert s.warehouse.name == "ciblage.duckdb"


def test_paths_are_relative_to_the_config_file(tmp_path: Path) -> None:
    cfg = tmp_path / "sub" / "c.toml"
    cfg.parent.mkdir()
    cfg.write_text(
        '[paths]\nwarehouse = "w/x.duckdb"\n[run]\nas_of = "2025-01-31"\n'
        '[sources.offres]\nurl = "https://example.org/o.json"\nmax_pages = 3\n'
    )
    s = load_settings(cfg, top_n=7)
    assert s.warehouse == (cfg.parent / "w" / "x.duckdb").resolve()
    assert s.top_n == 7
    assert s.source("offres").url == "https://example.org/o.json"
    assert s.source("offres").options == {"max_pages": 3}


def test_bad_as_of_names_the_file(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text('[run]\nas_of = "31/01/2025"\n')
    with pytest.raises(ConfigError, match="c.toml.*as_of"):
        load_settings(cfg)


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="introuvable"):
        load_settings(tmp_path / "nope.toml")


@pytest.mark.parametrize(("key", "option"), [("top_n", "--top"), ("horizon_months", "--horizon")])
def test_zero_on_the_command_line_is_refused_not_replaced(
    tmp_path: Path, key: str, option: str
) -> None:
    """`--top 0` used to fall back silently to the file's value (`0 or 50`)."""
    cfg = tmp_path / "ciblage.toml"
    cfg.write_text("[run]\ntop_n = 50\nhorizon_months = 6\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=f"^{option} : {key} doit être >= 1"):
        load_settings(cfg, **{key: 0})
    assert getattr(load_settings(cfg, **{key: 3}), key) == 3
    assert getattr(load_settings(cfg, **{key: None}), key) in (50, 6)


def test_ranking_options_keep_an_explicit_top_n(tmp_path: Path) -> None:
    from scoring.ranking import RankingOptions

    cfg = tmp_path / "ciblage.toml"
    cfg.write_text("[run]\ntop_n = 50\n", encoding="utf-8")
    settings = load_settings(cfg)
    assert RankingOptions.from_settings(settings, 7).top_n == 7
    with pytest.raises(ConfigError, match="top_n >= 1"):
        RankingOptions.from_settings(settings, 0)
