"""Loading specs: positions on every error, did-you-mean, hostile YAML bounded."""

from __future__ import annotations

import time

import pytest

from tests.spec.conftest import LOCAL, PRODUCTION
from voxops.errors import InvalidInput, SpecError
from voxops.spec.loader import load_topology, load_topology_text
from voxops.spec.yamlpos import load_text


def test_examples_load():
    for path in (LOCAL, PRODUCTION):
        topology, _ = load_topology(path)
        assert len(topology.carriers) == 2


def test_directory_means_its_topology_yaml():
    topology, _ = load_topology(LOCAL.parent)
    assert topology.name == "local-lab"


def test_defaults_are_the_reference_design(prod_data):
    topology = load_topology_text(PRODUCTION.read_text())
    trunk = topology.carriers[1].trunks[0]
    assert (trunk.options_ping.interval_s, trunk.options_ping.failure_threshold) == (10, 3)
    assert topology.slo.asr.healthy_percent == 95 and topology.slo.asr.alert_below_percent == 90
    assert topology.slo.asr.window_s == 300
    assert topology.slo.pdd_max_ms == 2000 and topology.slo.loss_max_percent == 1.0
    assert topology.slo.mos_min == 3.5
    assert topology.sbc.admission is not None and topology.sbc.admission.reject_code == 486


def test_positions_of_every_node():
    located = load_text("a:\n  b:\n    - x\n    - {c: 1}\n")
    assert located.positions[("a", "b", 0)] == (3, 7)
    assert located.positions[("a", "b", 1, "c")] == (4, 11)
    assert located.where(("a", "b", 1, "c", "zz")) == "<string>:4:11"


def test_typo_key_names_line_and_suggests(write_spec):
    text = LOCAL.read_text().replace("weight: 60", "wieght: 60")
    line = next(i for i, ln in enumerate(text.splitlines(), 1) if "wieght" in ln)
    path = write_spec(text)
    with pytest.raises(SpecError) as exc:
        load_topology(path)
    problem = exc.value.problems[0]
    assert problem.startswith(f"{path}:{line}:")
    assert "carriers[0].trunks[0].wieght" in problem
    assert "did you mean 'weight'" in problem


def test_range_error_names_the_bounds(write_spec):
    path = write_spec(LOCAL.read_text().replace("weight: 40", "weight: 400"))
    with pytest.raises(SpecError) as exc:
        load_topology(path)
    assert "carriers[1].trunks[0].weight: must be 1..100 (got 400)" in exc.value.problems[0]


def test_wrong_type_reported_with_path(write_spec):
    path = write_spec(LOCAL.read_text().replace("max_calls: 4}", "max_calls: lots}", 1))
    with pytest.raises(SpecError) as exc:
        load_topology(path)
    assert "agents.instances[0].max_calls" in exc.value.problems[0]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("", "empty"),
        ("# only a comment\n", "empty"),
        ("{{{", "a mapping key must be a plain value"),
        ("key: [unclosed\n", "not valid YAML"),
        ("a: b: c\n", "not valid YAML"),
        ("a: 1\na: 2\n", "duplicate key 'a'"),
        ("--- {}\n--- {}\n", "more than one YAML document"),
        ("a: !!python/object:os.system ls\n", "tag"),
        ("[" * 100_000 + "]" * 100_000, "nesting deeper"),
        ("- " * 5000 + "x", "nesting deeper"),
        ("a: *nope\n", "unknown alias"),
    ],
)
def test_hostile_yaml_is_one_clear_error(text, expected):
    with pytest.raises(InvalidInput) as exc:
        load_text(text, "s.yaml")
    assert expected in str(exc.value)
    assert str(exc.value).startswith("s.yaml")


@pytest.mark.parametrize(
    "text, where",
    [
        ("[" * 100_000 + "]" * 100_000, "s.yaml:1:65:"),
        ("a: 1\nb: " + "{k: " * 70 + "1" + "}" * 70 + "\n", "s.yaml:2:256:"),  # the top-level mapping is level 1
        ("a:\n  - " + "[" * 2000 + "\n", "s.yaml:2:69:"),
    ],
)
def test_flow_nesting_is_reported_at_the_first_level_too_deep(text, where):
    # libyaml may refuse deep flow nesting itself while reading ahead; the user still
    # gets the loader's limit and the place it was crossed, not a parser message
    with pytest.raises(InvalidInput) as exc:
        load_text(text, "s.yaml")
    assert str(exc.value) == f"{where} nesting deeper than 64 levels"


@pytest.mark.parametrize(
    "text",
    [
        'a: "' + "[" * 2000 + '"\nb: [unclosed\n',
        "a: '" + "{" * 2000 + "''x'\nb: [unclosed\n",
        "# " + "[" * 2000 + "\nb: [unclosed\n",
        "a: x" + "[" * 2000 + "\nb: [unclosed\n",
    ],
)
def test_brackets_in_strings_and_comments_are_not_nesting(text):
    with pytest.raises(InvalidInput) as exc:
        load_text(text, "s.yaml")
    assert str(exc.value).startswith("s.yaml:3:1: not valid YAML")


def test_billion_laughs_refused_quickly():
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 10):
        refs = ",".join([f"*a{i - 1}"] * 10)
        lines.append(f"a{i}: &a{i} [{refs}]")
    started = time.perf_counter()
    with pytest.raises(InvalidInput, match="alias bomb"):
        load_text("\n".join(lines))
    assert time.perf_counter() - started < 2


def test_huge_file_refused_without_reading(write_spec, tmp_path):
    path = tmp_path / "big.yaml"
    with path.open("wb") as fh:
        fh.truncate(50 * 1024 * 1024)
    started = time.perf_counter()
    with pytest.raises(InvalidInput, match="larger than a spec can be"):
        load_topology(path)
    assert time.perf_counter() - started < 1


def test_not_utf8(tmp_path):
    path = tmp_path / "t.yaml"
    path.write_bytes(b"name: \xff\xfe\n")
    with pytest.raises(InvalidInput, match="not UTF-8"):
        load_topology(path)


def test_yaml_1_1_booleans_stay_strings():
    located = load_text("a: no\nb: on\nc: true\nd: 0x1F\ne: 1_000\nf: 2.5\ng: ~\n")
    assert located.data == {"a": "no", "b": "on", "c": True, "d": 31, "e": 1000, "f": 2.5, "g": None}
