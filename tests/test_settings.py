"""Settings precedence: defaults < storyline.toml < STORYLINE_* env < flags."""

from storyline import settings


def test_precedence(tmp_path):
    toml = tmp_path / "storyline.toml"
    toml.write_text('[storyline]\ndb = "from-toml.db"\nevent_window_days = 5\nner = "fast"\n')
    conf = settings.load(config=toml, env={})
    assert (conf.db, conf.event_window_days, conf.ner) == ("from-toml.db", 5, "fast")
    conf = settings.load(config=toml, env={"STORYLINE_DB": "from-env.db", "STORYLINE_EVENT_WINDOW_DAYS": "7"})
    assert (conf.db, conf.event_window_days) == ("from-env.db", 7)
    conf = settings.load({"db": "flag.db", "ner": None}, config=toml, env={"STORYLINE_DB": "from-env.db"})
    assert (conf.db, conf.ner) == ("flag.db", "fast")


def test_every_setting_has_help_and_a_field():
    fields = settings.Settings.__dataclass_fields__
    for row in settings.TABLE:
        assert row.help and row.name in fields
        assert fields[row.name].default == row.default


def test_booleans_are_read_as_words(tmp_path):
    conf = settings.load(env={"STORYLINE_FETCH_PAGES": "false"}, config=tmp_path / "none.toml")
    assert conf.fetch_pages is False
    conf = settings.load({"fetch_pages": "yes"}, env={}, config=tmp_path / "none.toml")
    assert conf.fetch_pages is True


def test_a_bad_setting_is_one_error_naming_where_it_was_set(tmp_path):
    import pytest

    none = tmp_path / "none.toml"
    for env, message in [
        ({"STORYLINE_WORKERS": "abc"}, "STORYLINE_WORKERS: setting workers: 'abc' is not a whole number"),
        ({"STORYLINE_FETCH_PAGES": "maybe"}, "STORYLINE_FETCH_PAGES: setting fetch_pages: 'maybe' is not true or false"),
        ({"STORYLINE_NER": "bogus"}, "STORYLINE_NER: setting ner: 'bogus' is not one of spacy, fast, auto"),
        ({"STORYLINE_LOG_LEVEL": "loud"}, "setting log_level: 'LOUD' is not one of"),
    ]:
        with pytest.raises(settings.SettingsError) as caught:
            settings.load(env=env, config=none)
        assert message in str(caught.value)
    with pytest.raises(settings.SettingsError, match="--ner: setting ner"):
        settings.load({"ner": "best"}, env={}, config=none)
    toml = tmp_path / "storyline.toml"
    for text, message in [
        ("[storyline\n", "not valid TOML"),
        ("[storyline]\nwrkers = 3\n", "unknown setting 'wrkers' (did you mean 'workers'?)"),
        ("storyline = 5\n", "[storyline] must be a table of settings"),
        ('[storyline]\nworkers = "x"\n', "setting workers: 'x' is not a whole number"),
    ]:
        toml.write_text(text)
        with pytest.raises(settings.SettingsError) as caught:
            settings.load(env={}, config=toml)
        assert str(caught.value).startswith(str(toml)) and message in str(caught.value)
    assert settings.load(env={"STORYLINE_LOG_LEVEL": "info"}, config=none).log_level == "INFO"
    assert settings.load(env={"STORYLINE_LOG_LEVEL": "warn"}, config=none).log_level == "WARNING"
    toml.write_text("[storyline]\nmax_file_mb = 0.5\nworkers = 3.0\n")  # a size may be a fraction, a count whole
    assert (settings.load(env={}, config=toml).max_file_mb, settings.load(env={}, config=toml).workers) == (0.5, 3)
    for text in ("[storyline]\nworkers = 1.5\n", "[storyline]\nworkers = true\n"):
        toml.write_text(text)
        with pytest.raises(settings.SettingsError, match="setting workers"):
            settings.load(env={}, config=toml)
    toml.write_text('db = "top.db"\n[hugo]\ntheme = "x"\n')  # no [storyline] table: ours are read, others' left alone
    assert settings.load(env={}, config=toml).db == "top.db"
