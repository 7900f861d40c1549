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
        ({"STORYLINE_LOG_LEVEL": "loud"}, "setting log_level: 'loud' is not one of"),
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


def test_numbers_are_checked_against_their_range_once_where_they_are_set(tmp_path):
    import pytest

    none = tmp_path / "none.toml"
    for env, message in [
        ({"STORYLINE_MAX_FILE_MB": "nan"}, "setting max_file_mb: nan is not a finite number"),
        ({"STORYLINE_MAX_FILE_MB": "inf"}, "setting max_file_mb: inf is not a finite number"),
        ({"STORYLINE_MAX_FILE_MB": "0"}, "setting max_file_mb: 0 must be more than 0"),
        ({"STORYLINE_WORKERS": "-3"}, "setting workers: -3 must be at least 0"),
        ({"STORYLINE_INGEST_CACHE_MB": "-5"}, "setting ingest_cache_mb: -5 must be at least 0"),
        ({"STORYLINE_EVENT_THRESHOLD": "1.5"}, "setting event_threshold: 1.5 must be at most 1"),
        ({"STORYLINE_EVENT_THRESHOLD": "nan"}, "setting event_threshold: nan is not a finite number"),
        ({"STORYLINE_FETCH_WORKERS": "0"}, "setting fetch_workers: 0 must be at least 1"),
        ({"STORYLINE_POLL_EVERY": "abc"}, "setting poll_every: not an interval: 'abc'"),
        ({"STORYLINE_NER": "BAD"}, "setting ner: 'BAD' is not one of"),  # as typed
    ]:
        with pytest.raises(settings.SettingsError) as caught:
            settings.load(env=env, config=none)
        assert str(caught.value).startswith(next(iter(env))) and message in str(caught.value), env
    assert settings.load(env={"STORYLINE_WORKERS": "0", "STORYLINE_EVENT_THRESHOLD": "1"}, config=none).workers == 0
    # A flag is named as it is typed, not by the setting it sets.
    with pytest.raises(settings.SettingsError, match=r"^--delay: setting host_delay_s: -5\.0 must be at least 0"):
        settings.load({"host_delay_s": -5.0}, env={}, config=none)


def test_an_empty_database_path_is_refused_rather_than_opened_as_a_temporary_one(tmp_path):
    import pytest

    none = tmp_path / "none.toml"
    for flags in ({"db": ""}, {"db": "  "}):
        with pytest.raises(settings.SettingsError, match="setting db: the database path is empty"):
            settings.load(flags, env={}, config=none)
    assert settings.load(env={"STORYLINE_DB": ""}, config=none).db == "storyline.db"  # an exported empty name: unset


def test_an_empty_variable_clears_a_text_setting_the_file_set_and_leaves_numbers_alone(tmp_path):
    toml = tmp_path / "storyline.toml"
    toml.write_text('[storyline]\nuser_agent = "Bot/1"\nallowed_hosts = "news.example"\nworkers = 3\n')
    conf = settings.load(env={"STORYLINE_USER_AGENT": "", "STORYLINE_ALLOWED_HOSTS": "", "STORYLINE_WORKERS": ""}, config=toml)
    assert (conf.user_agent, conf.allowed_hosts, conf.workers) == ("", "", 3)
    blank = {f"STORYLINE_{name.upper()}": "" for name in ("ner", "log_level", "poll_every", "db", "fetch_pages")}
    assert settings.load(env=blank, config=toml).ner == "auto"  # empty is no choice: the default, not an error
    assert settings.load(env={}, config=toml).allowed_hosts == "news.example"


def test_settings_files_that_say_something_other_than_they_seem_are_refused_or_warned_about(tmp_path, caplog):
    import logging

    import pytest

    toml = tmp_path / "storyline.toml"
    toml.write_bytes(b'[storyline]\nuser_agent = "\xff"\n')
    with pytest.raises(settings.SettingsError, match=r"not valid TOML \(not UTF-8 text\)"):
        settings.load(env={}, config=toml)
    toml.write_text('workers = 7\n[storyline]\nner = "fast"\n')  # which one holds the settings?
    with pytest.raises(settings.SettingsError, match="workers outside the \\[storyline\\] table"):
        settings.load(env={}, config=toml)
    with pytest.raises(settings.SettingsError, match="no such settings file"):
        settings.load(env={"STORYLINE_CONFIG": str(tmp_path / "gone.toml")})
    toml.write_text("event_treshold = 0.3\ntitle = 'my site'\n")  # top level, beside other tools' keys
    with caplog.at_level(logging.WARNING, logger="storyline.settings"):
        assert settings.load(env={}, config=toml).event_threshold == 0.25
    assert [r.getMessage() for r in caplog.records] == [
        f"{toml}: 'event_treshold' is not a setting and is ignored (did you mean 'event_threshold'?)"
    ]
