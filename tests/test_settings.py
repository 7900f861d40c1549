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
