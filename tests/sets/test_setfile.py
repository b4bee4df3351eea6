"""Set files and option lists expanded into routines: validation, order, naming."""

from pathlib import Path

import pytest

from footaudio import UsageError
from footaudio.sets.setfile import load_set_file, set_from_lists


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "set.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_matrix_and_list_expand_in_order_with_sortable_names(tmp_path):
    routine_set = load_set_file(
        write(
            tmp_path,
            """
name = "Week one"
output = "renders"
[defaults]
ambience = "rain"
rate = 130
[matrix]
minutes = [5, 10]
mode = ["solo", "partner"]
[[routine]]
minutes = 20
mode = "partner"
pressure = "firm"
ambience = "none"
name = "Sunday evening!"
""",
        )
    )
    assert routine_set.name == "Week one"
    assert routine_set.output == (tmp_path / "renders").resolve()
    assert [spec.stem for spec in routine_set.routines] == [
        "01-solo-light-5min",
        "02-partner-light-5min",
        "03-solo-light-10min",
        "04-partner-light-10min",
        "05-sunday-evening",
    ]
    assert [spec.options.ambience for spec in routine_set.routines] == ["rain"] * 4 + ["none"]
    assert {spec.settings.rate for spec in routine_set.routines} == {130}
    assert [spec.track for spec in routine_set.routines] == [1, 2, 3, 4, 5]


def test_option_lists_make_a_product():
    routine_set = set_from_lists(
        "Starter", {"minutes": [5, 10, 20], "mode": ["solo", "partner"], "pressure": ["light", "firm"]}, {}
    )
    assert len(routine_set.routines) == 12
    assert routine_set.routines[0].filename == "01-solo-light-5min.mp3"
    assert routine_set.routines[-1].filename == "12-partner-firm-20min.mp3"


def test_the_example_set_file_is_valid():
    routine_set = load_set_file(Path(__file__).parents[2] / "scripts" / "sets" / "week.toml")
    assert len(routine_set.routines) == 10


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("name = ]", "{path} is not valid TOML (Invalid value (at line 1, column 8)); fix the syntax."),
        (
            "name = 'x'\ncolour = 'red'\n[matrix]\nminutes = [5]",
            "{path}, line 2: unknown key 'colour' in the top level; allowed: name, output, templates, defaults, "
            "matrix, routine.",
        ),
        (
            "[matrix]\nminutes = [5]\npresure = ['firm']",
            "{path}, line 3: unknown key 'presure' in [matrix]; did you mean 'pressure'? allowed: minutes, mode, "
            "pressure, seed, voice, rate, engine.",
        ),
        ("[matrix]\nminutes = []", "{path}, line 2: matrix 'minutes' is empty; give at least one value."),
        (
            "[matrix]\nminutes = [5]\nmode = ['solo', 'trio']",
            "{path}, line 3: routine 2: unknown mode 'trio'; use --mode solo or partner.",
        ),
        (
            "[[routine]]\nminutes = 5\n[[routine]]\nminutes = 'long'",
            "{path}, line 4: routine 2: minutes must be a number, not 'long'; use e.g. --minutes 10.",
        ),
        (
            "[[routine]]\nminutes = 5\n[[routine]]\nminutes = 5",
            "{path}, line 4: routines 1 and 2 would both be named solo-light-5min.mp3; "
            "give one of them another setting or a 'name'.",
        ),
        (
            "[defaults]\ncaptions = 'yes'\n[matrix]\nminutes = [5]",
            "{path}, line 2: routine 1: captions must be true or false, not 'yes'.",
        ),
        ("name = 'empty'", "{path}: the set has no routines; add a [matrix] table or [[routine]] entries."),
        ("[[routine]]\nminutes = 5\nsped = 3", "{path}, line 3: unknown key 'sped' in [routine]; did you mean 'seed'?"),
        ("defaults = 3\n[matrix]\nminutes = [5]", "{path}, line 1: 'defaults' must be a table ([defaults])."),
    ],
)
def test_bad_set_files_name_the_file_line_and_key(tmp_path, text, message):
    path = write(tmp_path, text)
    with pytest.raises(UsageError) as caught:
        load_set_file(path)
    assert str(caught.value).startswith(message.format(path=path))


def test_missing_set_file(tmp_path):
    with pytest.raises(UsageError, match=r"^set file .*nope\.toml does not exist; check the path\.$"):
        load_set_file(tmp_path / "nope.toml")


@pytest.mark.parametrize(
    ("name", "folder"),
    [
        ("Füße am Abend & more", "füße-am-abend-more"),
        ("Pieds à l'été : soirée", "pieds-à-l-été-soirée"),
        ("Πόδια το ΒΡΑΔΥ", "πόδια-το-βραδυ"),
        ("夕方の足マッサージ\uff08パートナー\uff09", "夕方の足マッサージ-パートナー"),
        ("e\u0301te\u0301 ../../etc", "été-etc"),
        ("  ***  ", "routine"),
        ("CON", "con-set"),
    ],
)
def test_set_folders_keep_the_letters_of_every_alphabet(name, folder):
    assert set_from_lists(name, {"minutes": [5]}, {}).folder == Path("out") / folder


def test_long_names_stay_within_file_system_limits():
    slug = set_from_lists("Fußmassage " * 40, {"minutes": [5]}, {}).folder.name
    assert slug.startswith("fußmassage-fußmassage-") and not slug.endswith("-")
    assert len(slug.encode()) <= 120


def test_routine_names_keep_their_letters_too(tmp_path):
    routine_set = load_set_file(write(tmp_path, '[[routine]]\nminutes = 5\nname = "Füße am Abend"\n'))
    assert routine_set.routines[0].filename == "01-füße-am-abend.mp3"
