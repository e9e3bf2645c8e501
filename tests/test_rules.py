"""The one module of OCI rules agrees with the OCI SDK and with cookiecutter.json."""

from __future__ import annotations

import oci.regions
from baking import DEFAULTS, bake

from local_extensions import load_rules
from sync_options import stale_files

rules = load_rules()


def test_region_table_equals_the_oci_sdks() -> None:
    assert {region: key for region, (key, _) in rules.REGIONS.items()} == {
        region: key for key, region in oci.regions.REGIONS_SHORT_NAMES.items()
    }
    assert {region: realm for region, (_, realm) in rules.REGIONS.items()} == oci.regions.REGION_REALMS
    assert rules.REALM_DOMAINS == oci.regions.REALMS


def test_ocir_hosts() -> None:
    assert rules.ocir_host("us-ashburn-1") == "iad.ocir.io"
    assert rules.ocir_host("eu-frankfurt-1") == "fra.ocir.io"
    assert rules.ocir_host("us-langley-1") == "ocir.us-langley-1.oci.oraclegovcloud.com"
    assert rules.ocir_host("mars-1") == ""


def test_choices_of_cookiecutter_json_are_the_rules() -> None:
    assert tuple(DEFAULTS["framework"]) == rules.FRAMEWORKS
    assert tuple(DEFAULTS["server"]) == rules.SERVERS
    assert tuple(DEFAULTS["python_version"]) == rules.PYTHON_VERSIONS


def test_every_option_has_a_prompt_and_every_rule_an_option() -> None:
    options = {name for name in DEFAULTS if not name.startswith("_")}
    assert options == set(DEFAULTS["__prompts__"])
    assert set(rules.CHECKS) == options - {"project_name"}


def test_the_literal_defaults_pass_the_rules() -> None:
    literal = {
        name: value for name, value in DEFAULTS.items() if isinstance(value, str) and "{{" not in value
    }
    literal |= {name: value[0] for name, value in DEFAULTS.items() if isinstance(value, list)}
    assert rules.validate_answers(literal) == []
    assert rules.check_port("server_port", "1024") is None
    assert rules.check_port("server_port", "65535") is None


def test_readme_table_and_copier_yml_are_fresh() -> None:
    assert stale_files() == [], "run: python sync_options.py"


def test_the_slug_filter_is_cookiecutters_derived_default(tmp_path) -> None:
    names = {"My Model Service": "my-model-service", "Bob's Fraud Model v2": "bobs-fraud-model-v2"}
    for name, slug in names.items():
        assert rules.slug_of(name) == slug
        assert bake(tmp_path / slug, {"project_name": name}).name == slug
