"""The one module of OCI rules agrees with the OCI SDK and with cookiecutter.json."""

from __future__ import annotations

import oci.regions
import yaml
from baking import DEFAULTS, TEMPLATE, bake

from local_extensions import CONFIG, NOT_ASKED, OPTIONS, load_rules
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
    asked = {name for name in CONFIG if not name.startswith("_")}
    assert asked == {name for name in CONFIG["__prompts__"] if not name.startswith("_")}
    assert set(rules.CHECKS) == set(OPTIONS) == set(DEFAULTS)


def test_a_newcomer_is_asked_only_what_they_know() -> None:
    """The name, framework, server and Python (and the names derived from the name); the port,
    workers, model file and OCI settings are defaults of the files they fill, never asked."""
    asked = [name for name in CONFIG if not name.startswith("_")]
    names = ["project_name", "owner", "project_slug", "package_name"]
    assert asked == [*names, "framework", "server", "python_version"]
    assert set(NOT_ASKED) == set(OPTIONS) - set(asked)
    copier = yaml.safe_load((TEMPLATE / "copier.yml").read_text())
    assert [name for name in OPTIONS if copier[name].get("ask", True)] == asked


def test_the_example_namespace_is_the_default_one() -> None:
    """make doctor and make settings name the bake's default namespace as nobody's tenancy's; the
    walkthrough shows another in a ready machine's doctor report."""
    assert DEFAULTS["tenancy_namespace"] == rules.EXAMPLE_NAMESPACE
    walkthrough = (TEMPLATE / "{{cookiecutter.project_slug}}" / "WALKTHROUGH.md").read_text()
    assert f'__tenancy_namespace == "{rules.EXAMPLE_NAMESPACE}"' in walkthrough


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
    names = {
        "My Model Service": "my-model-service",
        "Bob's Fraud Model v2": "bobs-fraud-model-v2",
        "Модель": "model-service",  # nothing ASCII left: the fallback, not an empty folder name
        "2024 Churn": "model-2024-churn",  # a slug starts with a letter
        "Churn " * 16: ("churn-" * 11)[:63].rstrip("-"),  # at most 63 characters
    }
    for name, slug in names.items():
        assert rules.slug_of(name) == slug
        assert bake(tmp_path / slug, {"project_name": name}).name == slug


def test_an_owner_goes_at_the_end_of_the_slug_whole() -> None:
    assert rules.slug_of("My Model Service", "ana") == "my-model-service-ana"
    assert rules.slug_of("Модель", "ana") == "model-service-ana"
    long = rules.slug_of("Churn " * 16, "o" * 16)
    assert len(long) == 63 and long.endswith("-" + "o" * 16) and rules.check_slug(long) is None
    # Cookiecutter derives the slug before it checks the answers: a bad owner still gives a valid slug.
    assert rules.slug_of("My Model Service", "Ana\nall:") == "my-model-service-ana-all"
    assert rules.slug_of("My Model Service", "") == "my-model-service"


def test_the_owner_is_empty_or_a_short_slug() -> None:
    for value in ["", "ana", "a", "ana-2", "o" * 16]:
        assert rules.check_owner(value) is None, value
    for value in ["Ana", "2ana", "ana-", "ana b", "ana\n", "o" * 17, "an.a", "ana_b"]:
        assert rules.check_owner(value), value


def test_freeform_tags_keep_ocis_limits() -> None:
    assert rules.check_freeform_tags({"service": "s", "owner": "", "k" * 100: "v" * 256}) == []
    assert len(rules.check_freeform_tags({f"k{n}": "v" for n in range(65)})) == 1
    for key in ["", "a.b", "a b", "k" * 101, "a\tb"]:
        assert rules.check_freeform_tags({key: "v"}), key
    for value in ["v" * 257, "a\nb", 3]:
        assert rules.check_freeform_tags({"k": value}), value
    assert rules.check_freeform_tags(["owner"]) == [
        "freeform_tags: \"['owner']\" must be a table of keys and text values"
    ]


def test_rules_match_whole_values_and_ascii_digits_only() -> None:
    for value in ["abc\n", "abc\r", " abc"]:
        assert rules.check_tag(value) and rules.check_namespace(value) and rules.check_repository(value)
        assert rules.check_slug(value) and rules.check_package_name(value)
    for value in ["8_080", "+8080", " 8080", "8080\n", "\u0668\u0660\u0668\u0660", "08080"]:
        assert rules.check_port("server_port", value), value
    for value in ["\u00b2", "1_0", "01", "257"]:
        assert rules.check_workers(value), value
    assert rules.check_workers("256") is None and rules.check_port("server_port", "8080") is None


def test_package_names_that_would_shadow_an_import_are_refused() -> None:
    for name in ["json", "flask", "fastapi", "sklearn", "numpy", "pandas", "gunicorn", "tests", "scripts"]:
        assert "the name of a module the project imports" in (rules.check_package_name(name) or ""), name
    assert rules.check_package_name("churn_model") is None


def test_a_content_length_is_a_size_within_the_limit_whatever_its_digits() -> None:
    """Counted before int(), which refuses more than 4,300 digits with a ValueError."""
    limit = rules.MAX_PREDICT_BODY_BYTES
    assert rules.body_size(str(limit)) == limit and rules.body_size(b"12") == 12
    assert rules.body_size("0" * 5000 + "2") == 2  # zeros in front: the same size
    for refused in ("9" * 5000, str(limit + 1), "1" * 12, "²", "-1", "1e3", ""):
        assert rules.body_size(refused) is None, refused
    assert rules.body_size("0") == 0 and rules.body_size("101", limit=100) is None
