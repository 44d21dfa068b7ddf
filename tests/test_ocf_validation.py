"""OCF v1.2.0 validation (``grants/ocf/validation.py``): the coalition's samples validate
against the project's copy of the schemas, a package is read through its manifest, every
problem names its file, object id and JSON path, and nothing is ever fetched."""

import copy
import hashlib
import json
import socket
import urllib.request
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from jsonschema import Draft7Validator
from referencing.exceptions import Unresolvable

from grants.ocf import validation
from grants.ocf.validation import (
    BASE_URI,
    OcfError,
    manifest_file_lists,
    schema_for,
    validate_file,
    validate_package,
    validator_for,
)

SHARED_OCF = Path(__file__).resolve().parents[1].parent / "shared" / "ocf"
SAMPLES = SHARED_OCF / "samples"
PROJECT_SCHEMAS = Path(validation.__file__).parent / "schema"


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Any attempt to reach the network fails the test."""

    def refuse(*args, **kwargs):
        raise AssertionError(f"OCF validation tried to reach the network: {args!r}")

    monkeypatch.setattr(urllib.request, "urlopen", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)


def sample(name: str) -> dict:
    return json.loads((SAMPLES / name).read_text(encoding="utf-8"))


def sample_item(file_name: str, item_id: str) -> dict:
    (item,) = [item for item in sample(file_name)["items"] if item["id"] == item_id]
    return copy.deepcopy(item)


OPTION_ID = "test-plan-security-issuance-any-of-block-for-compensation-type-option"


def option_grant(**changes) -> dict:
    """The coalition's sample option issuance, with ``changes`` (None deletes a field)."""
    item = sample_item("Transactions.ocf.json", OPTION_ID)
    for name, value in changes.items():
        if value is None:
            del item[name]
        else:
            item[name] = value
    return item


def transactions(*items: dict) -> dict:
    return {"file_type": "OCF_TRANSACTIONS_FILE", "items": list(items)}


def write_package(folder: Path, files: dict[str, dict], *, md5s: dict[str, str] | None = None):
    """A package in ``folder``: each file of ``files`` (name -> content) listed in a manifest
    under its file type, with its MD5 (or the one ``md5s`` gives)."""
    manifest = sample("Manifest.ocf.json")
    lists = {file_type: key for key, file_type in manifest_file_lists().items()}
    for key in lists.values():
        manifest[key] = []
    for name, content in files.items():
        raw = json.dumps(content, indent=2).encode()
        (folder / name).write_bytes(raw)
        md5 = (md5s or {}).get(name, hashlib.md5(raw).hexdigest())
        manifest[lists[content["file_type"]]].append({"filepath": f"./{name}", "md5": md5})
    (folder / "Manifest.ocf.json").write_text(json.dumps(manifest, indent=2))
    return folder


# --------------------------------------------------------------------------- the schemas


def test_the_project_keeps_an_exact_copy_of_the_published_schemas_and_their_licence():
    published = {p.relative_to(SHARED_OCF / "schema") for p in (SHARED_OCF / "schema").rglob("*")}
    kept = {p.relative_to(PROJECT_SCHEMAS) for p in PROJECT_SCHEMAS.rglob("*")}
    assert kept == published | {Path("LICENSE.md")}
    for relative in published:
        if (SHARED_OCF / "schema" / relative).is_file():
            assert (PROJECT_SCHEMAS / relative).read_bytes() == (
                SHARED_OCF / "schema" / relative
            ).read_bytes(), relative
    assert (PROJECT_SCHEMAS / "LICENSE.md").read_bytes() == (SHARED_OCF / "LICENSE.md").read_bytes()


def test_every_schema_keeps_its_copyright_notice_naming_its_original_file():
    schemas = sorted(PROJECT_SCHEMAS.rglob("*.schema.json"))
    assert len(schemas) == 168
    for path in schemas:
        original = (
            "https://github.com/Open-Cap-Table-Coalition/Open-Cap-Format-OCF/tree/v1.2.0/schema/"
            + path.relative_to(PROJECT_SCHEMAS).as_posix()
        )
        assert json.loads(path.read_text())["$comment"] == (
            "Copyright © 2024 Open Cap Table Coalition (https://opencaptablecoalition.com) / "
            f"Original File: {original}"
        )


def all_refs(node):
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str):
            yield node["$ref"]
        for value in node.values():
            yield from all_refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from all_refs(value)


def test_every_ref_in_the_schemas_resolves_from_the_local_registry():
    resolver = validation.registry().resolver()
    refs = {
        ref
        for p in PROJECT_SCHEMAS.rglob("*.schema.json")
        for ref in all_refs(json.loads(p.read_text()))
    }
    assert len(refs) > 100
    for ref in refs:
        assert ref.startswith(BASE_URI)
        assert resolver.lookup(ref).contents["$id"] == ref


def test_a_ref_outside_the_registry_raises_instead_of_fetching():
    foreign = "https://schema.opencaptable.org/v/1.2.0/types/Numeric.schema.json"
    with pytest.raises(Unresolvable):
        validation.registry().resolver().lookup(foreign)
    with pytest.raises(Unresolvable):
        validator_for({"type": "object", "properties": {"quantity": {"$ref": foreign}}})
    # A plain jsonschema validator over the registry does not fetch either.
    plain = Draft7Validator({"$ref": foreign}, registry=validation.registry())
    with pytest.raises(Unresolvable):
        plain.is_valid("1")


@pytest.mark.parametrize(
    ("type_name", "schema_file"),
    [
        (
            "TX_EQUITY_COMPENSATION_ISSUANCE",
            "objects/transactions/issuance/EquityCompensationIssuance",
        ),
        ("TX_PLAN_SECURITY_ISSUANCE", "objects/transactions/issuance/PlanSecurityIssuance"),
        ("STAKEHOLDER", "objects/Stakeholder"),
        ("VESTING_TERMS", "objects/VestingTerms"),
        ("OCF_MANIFEST_FILE", "files/OCFManifestFile"),
        ("OCF_TRANSACTIONS_FILE", "files/TransactionsFile"),
    ],
)
def test_schema_for_finds_the_schema_of_an_object_type_or_a_file_type(type_name, schema_file):
    assert schema_for(type_name)["$id"] == f"{BASE_URI}{schema_file}.schema.json"


def test_every_object_type_and_file_type_the_enums_name_has_a_schema():
    for enum, key in (("ObjectType", "object_type"), ("FileType", "file_type")):
        names = json.loads((PROJECT_SCHEMAS / "enums" / f"{enum}.schema.json").read_text())["enum"]
        for name in names:
            declared = schema_for(name)["properties"][key]
            assert declared.get("const") == name or name in declared.get("enum", []), name


def test_schema_for_an_unknown_name_raises_lookup_error():
    with pytest.raises(LookupError, match="TX_FOO"):
        schema_for("TX_FOO")


def test_schema_for_gives_a_copy():
    schema_for("STAKEHOLDER")["properties"].clear()
    assert schema_for("STAKEHOLDER")["properties"]


def test_validators_are_built_once_and_kept():
    validate_file(transactions(option_grant()), name="first.json")
    built = validation._type_validator.cache_info().misses
    validate_file(transactions(option_grant(), option_grant(id="another")), name="second.json")
    assert validation._type_validator.cache_info().misses == built
    assert validator_for("STAKEHOLDER") is validator_for("STAKEHOLDER")


# --------------------------------------------------------------------------- the samples

SAMPLE_NAMES = sorted(p.name for p in SAMPLES.glob("*.json"))


@pytest.mark.parametrize("name", [n for n in SAMPLE_NAMES if n != "Transactions.ocf.json"])
def test_every_official_sample_is_valid(name):
    assert validate_file(SAMPLES / name) == []


def test_the_official_transactions_sample_fails_only_where_v1_2_0_leaves_out_a_type():
    """v1.2.0's TransactionsFile lists 35 transaction schemas but not the issuer's authorized
    shares adjustment (OCF issue #543), so its two samples of one are not valid there."""
    assert validate_file(SAMPLES / "Transactions.ocf.json") == [
        OcfError(
            "Transactions.ocf.json",
            f"items[{index}].object_type",
            "TX_ISSUER_AUTHORIZED_SHARES_ADJUSTMENT is not among the object types an "
            "OCF_TRANSACTIONS_FILE holds.",
            object_id,
        )
        for index, object_id in enumerate(
            [
                "test-issuer-level-share-adjustment-minimal",
                "test-issuer-level-share-adjustment-all-fields",
            ]
        )
    ]


def test_the_official_samples_as_a_package_differ_only_in_md5s_and_those_two_objects():
    """The coalition's manifest names eight of the samples, with MD5s of other versions."""
    errors = validate_package(SAMPLES)
    md5s = [e for e in errors if e.message.startswith("its MD5 is")]
    others = [e for e in errors if e not in md5s]
    assert len(md5s) == 8
    assert [(e.file, e.object_id) for e in others] == [
        ("Transactions.ocf.json", "test-issuer-level-share-adjustment-minimal"),
        ("Transactions.ocf.json", "test-issuer-level-share-adjustment-all-fields"),
    ]


def broken_variants(item: dict):
    """The item, and the item with each of its top-level fields removed or made a number."""
    yield item
    for name in item:
        yield {key: value for key, value in item.items() if key != name}
        yield {**item, name: 7}


SAMPLE_TRANSACTIONS = [
    item
    for name in ("Transactions.ocf.json", "VestingTransactions.examples.ocf.json")
    for item in sample(name)["items"]
]


def test_checking_each_item_by_its_type_gives_the_file_schemas_verdict():
    """The file schema's oneOf, as jsonschema checks it, agrees with checking each item
    against its own object type's schema, for valid and broken items."""
    whole = Draft7Validator(
        json.loads((PROJECT_SCHEMAS / "files" / "TransactionsFile.schema.json").read_text()),
        registry=validation.registry(),
        format_checker=Draft7Validator.FORMAT_CHECKER,
    )
    verdicts = set()
    for original in SAMPLE_TRANSACTIONS:
        for item in (original, {**original, "id": 7}):
            ours = validate_file(transactions(item), name="t.json") == []
            assert ours == whole.is_valid(transactions(item)), item
            verdicts.add(ours)
    assert verdicts == {True, False}


@pytest.mark.parametrize("file_type", sorted(manifest_file_lists().values()))
def test_each_file_types_items_are_told_apart_by_object_type(file_type):
    """What makes per-item checking equal to the file schema: each schema its items may
    meet admits only its own object types, and no object type is admitted by two."""
    items = schema_for(file_type)["properties"]["items"]["items"]
    choices = [choice["$ref"] for choice in items.get("oneOf", [items])]
    assert sorted(set(validation._item_schema_ids(file_type).values())) == sorted(choices)


def test_inlined_refs_and_remembered_values_change_no_error():
    """Our validators (refs inlined, values remembered) give exactly the errors of a plain
    jsonschema validator that resolves each $ref from the registry as it goes."""
    checked = 0
    for original in SAMPLE_TRANSACTIONS:
        schema_id = validation._item_schema_ids("OCF_TRANSACTIONS_FILE").get(
            original["object_type"]
        )
        if schema_id is None:
            continue
        plain = Draft7Validator(
            validation._catalogue().schemas[schema_id],
            registry=validation.registry(),
            format_checker=Draft7Validator.FORMAT_CHECKER,
        )
        for item in broken_variants(original):
            expected = sorted((list(e.absolute_path), e.message) for e in plain.iter_errors(item))
            for _ in range(2):  # the second time, remembered values are skipped
                ours = validation._type_validator(schema_id).iter_errors(item)
                assert sorted((list(e.absolute_path), e.message) for e in ours) == expected
            checked += 1
    assert checked > 1400


def test_remembered_values_do_not_hide_an_error():
    good = option_grant(id="good", quantity="100")
    assert validate_file(transactions(good, good), name="t.json") == []
    bad = option_grant(id="bad", quantity="100", date="2019-02-30")
    assert [(e.object_id, e.path) for e in validate_file(transactions(bad), name="t.json")] == [
        ("bad", "items[0].date")
    ]


# --------------------------------------------------------------------------- broken items


def single_error(*items: dict) -> OcfError:
    errors = validate_file(transactions(*items), name="Transactions.ocf.json")
    assert len(errors) == 1, errors
    return errors[0]


def test_a_missing_required_field_is_reported_on_its_object():
    error = single_error(option_grant(), option_grant(id="grant-2", quantity=None))
    assert (error.file, error.object_id, error.path) == (
        "Transactions.ocf.json",
        "grant-2",
        "items[1]",
    )
    assert error.message == "'quantity' is a required property"
    assert str(error) == (
        "Transactions.ocf.json, object 'grant-2', items[1]: 'quantity' is a required property"
    )


def test_a_wrong_enum_value_names_the_field():
    error = single_error(
        option_grant(
            id="g",
            termination_exercise_windows=[
                {"reason": "FIRED", "period": 3, "period_type": "MONTHS"}
            ],
        )
    )
    assert (error.object_id, error.path) == ("g", "items[0].termination_exercise_windows[0].reason")
    assert error.message.startswith("'FIRED' is not one of ['VOLUNTARY_OTHER'")


def test_a_wrong_compensation_type_is_reported_once_on_the_field_and_once_on_the_object():
    """The schema's anyOf (an option needs an exercise price, ...) fails too: it is named, not
    printed whole."""
    errors = validate_file(transactions(option_grant(id="g", compensation_type="OPTION_X")))
    assert [(e.path, e.message) for e in errors] == [
        (
            "items[0].compensation_type",
            "'OPTION_X' is not one of ['OPTION_NSO', 'OPTION_ISO', 'OPTION', 'RSU', 'CSAR', "
            "'SSAR']",
        ),
        ("items[0]", "the object is not valid under any of the given schemas"),
    ]


@pytest.mark.parametrize("bad", ["2019-02-30", "12/12/2019", "2019-12-12T00:00:00", ""])
def test_a_bad_date_string_is_reported(bad):
    error = single_error(option_grant(id="g", date=bad))
    assert (error.object_id, error.path, error.message) == (
        "g",
        "items[0].date",
        f"{bad!r} is not a 'date'",
    )


def test_a_bad_date_where_null_is_also_allowed_reports_the_date():
    """expiration_date is oneOf null or a Date: the date's own error is the one reported."""
    error = single_error(option_grant(id="g", expiration_date="2031-13-01"))
    assert (error.path, error.message) == (
        "items[0].expiration_date",
        "'2031-13-01' is not a 'date'",
    )


def test_a_numeric_given_as_a_number_is_reported():
    error = single_error(option_grant(id="g", quantity=50))
    assert (error.object_id, error.path, error.message) == (
        "g",
        "items[0].quantity",
        "50 is not of type 'string'",
    )


def test_a_monetary_amount_given_as_a_number_is_reported():
    error = single_error(option_grant(id="g", exercise_price={"amount": 1.5, "currency": "USD"}))
    assert (error.path, error.message) == (
        "items[0].exercise_price.amount",
        "1.5 is not of type 'string'",
    )


def test_a_numeric_with_too_many_decimals_is_reported():
    error = single_error(option_grant(id="g", quantity="1.12345678901"))
    assert error.path == "items[0].quantity"
    assert "does not match" in error.message


def test_an_unknown_object_type_is_reported():
    error = single_error(option_grant(id="g", object_type="TX_OPTION_GIFT"))
    assert (error.object_id, error.path, error.message) == (
        "g",
        "items[0].object_type",
        "'TX_OPTION_GIFT' is not an OCF object type.",
    )


def test_an_object_of_another_file_is_reported():
    stakeholder = sample("Stakeholders.ocf.json")["items"][0]
    error = single_error(option_grant(), stakeholder)
    assert (error.object_id, error.path) == (stakeholder["id"], "items[1].object_type")
    assert (
        error.message == "STAKEHOLDER is not among the object types an OCF_TRANSACTIONS_FILE holds."
    )


def test_an_item_without_object_type_or_not_an_object_is_reported():
    errors = validate_file(transactions(option_grant(object_type=None), "grant"), name="t.json")
    assert [(e.object_id, e.path, e.message) for e in errors] == [
        (OPTION_ID, "items[0]", "the object has no object_type."),
        (None, "items[1]", "an OCF object is a JSON object, not a string."),
    ]


def test_an_unexpected_field_is_reported():
    error = single_error(option_grant(id="g", vesting_schedule="4y"))
    assert (error.path, error.message) == (
        "items[0]",
        "Additional properties are not allowed ('vesting_schedule' was unexpected)",
    )


def test_the_error_names_the_right_item_among_many():
    items = [option_grant(id=f"grant-{n}", quantity=str(n + 1)) for n in range(50)]
    items[37]["quantity"] = "a lot"
    error = single_error(*items)
    assert (error.object_id, error.path) == ("grant-37", "items[37].quantity")


def test_file_level_problems():
    assert [str(e) for e in validate_file({"items": []}, name="x.json")] == [
        "x.json: the file has no file_type, so it has no schema to meet."
    ]
    (error,) = validate_file({"file_type": "OCF_GRANTS_FILE", "items": []}, name="x.json")
    assert (error.path, error.message[:40]) == (
        "file_type",
        "'OCF_GRANTS_FILE' is not an OCF file typ",
    )
    assert [e.message for e in validate_file([], name="x.json")] == [
        "an OCF file is a JSON object, not an array."
    ]
    (error,) = validate_file({"file_type": "OCF_TRANSACTIONS_FILE", "items": {}}, name="x.json")
    assert (error.path, error.message) == ("items", "{} is not of type 'array'")
    (error,) = validate_file({**transactions(), "extra": 1}, name="x.json")
    assert (error.path, error.object_id) == ("", None)
    assert "'extra' was unexpected" in error.message


def test_a_manifest_with_a_bad_timestamp_is_reported():
    """The date-time format is checked (jsonschema needs rfc3339-validator for that)."""
    manifest = {**sample("Manifest.ocf.json"), "generated_at": "2022-03-22 01:23"}
    (error,) = validate_file(manifest, name="Manifest.ocf.json")
    assert (error.path, error.message) == (
        "generated_at",
        "'2022-03-22 01:23' is not a 'date-time'",
    )


def test_an_unreadable_file_is_an_error_not_an_exception(tmp_path):
    (tmp_path / "broken.json").write_text('{"file_type": "OCF_TRANSACTIONS_FILE", "items": [')
    (tmp_path / "latin1.json").write_bytes('{"a": "Zürich"}'.encode("latin-1"))
    (error,) = validate_file(tmp_path / "broken.json")
    assert error.file == "broken.json"
    assert error.message.startswith("the file is not readable JSON (Expecting value: line 1")
    (error,) = validate_file(tmp_path / "latin1.json")
    assert error.message.startswith("the file is not readable JSON (")
    (error,) = validate_file(tmp_path / "absent.json")
    assert error.message == "the file does not exist."


# --------------------------------------------------------------------------- packages


def valid_package(folder: Path) -> Path:
    stakeholders = {
        "file_type": "OCF_STAKEHOLDERS_FILE",
        "items": sample("Stakeholders.ocf.json")["items"],
    }
    return write_package(
        folder,
        {
            "Transactions.ocf.json": transactions(option_grant(), option_grant(id="grant-2")),
            "Stakeholders.ocf.json": stakeholders,
        },
    )


def test_a_package_with_a_manifest_and_its_files_validates(tmp_path):
    assert validate_package(valid_package(tmp_path)) == []
    assert validate_package(tmp_path / "Manifest.ocf.json") == []


def test_a_broken_transaction_in_a_package_names_the_file_object_and_path(tmp_path):
    (tmp_path / "tx").mkdir()
    write_package(
        tmp_path, {"tx/Transactions.ocf.json": transactions(option_grant(id="g", quantity=5))}
    )
    assert [str(e) for e in validate_package(tmp_path)] == [
        "tx/Transactions.ocf.json, object 'g', items[0].quantity: 5 is not of type 'string'"
    ]


def test_a_file_the_manifest_names_that_is_missing_is_reported(tmp_path):
    valid_package(tmp_path)
    (tmp_path / "Stakeholders.ocf.json").unlink()
    assert [str(e) for e in validate_package(tmp_path)] == [
        "Stakeholders.ocf.json: Manifest.ocf.json names this file (stakeholders_files[0]), "
        "but it is missing."
    ]


def test_a_wrong_md5_is_reported(tmp_path):
    write_package(
        tmp_path,
        {"Transactions.ocf.json": transactions(option_grant())},
        md5s={"Transactions.ocf.json": "0" * 32},
    )
    raw = (tmp_path / "Transactions.ocf.json").read_bytes()
    assert [str(e) for e in validate_package(tmp_path)] == [
        f"Transactions.ocf.json: its MD5 is {hashlib.md5(raw).hexdigest()}, but "
        f"Manifest.ocf.json (transactions_files[0].md5) says {'0' * 32}."
    ]


def test_an_unreadable_file_in_a_package_is_reported(tmp_path):
    valid_package(tmp_path)
    (tmp_path / "Transactions.ocf.json").write_text("{not json")
    new_md5 = hashlib.md5(b"{not json").hexdigest()
    md5_error, json_error = validate_package(tmp_path)
    assert (md5_error.file, md5_error.message[:43]) == (
        "Transactions.ocf.json",
        f"its MD5 is {new_md5}",
    )
    assert (json_error.file, json_error.path) == ("Transactions.ocf.json", "")
    assert json_error.message == (
        "the file is not readable JSON (Expecting property name enclosed in double quotes: "
        "line 1 column 2 (char 1))."
    )


def test_a_file_listed_under_another_type_is_reported(tmp_path):
    valid_package(tmp_path)
    manifest = json.loads((tmp_path / "Manifest.ocf.json").read_text())
    manifest["transactions_files"], manifest["stakeholders_files"] = (
        manifest["stakeholders_files"],
        manifest["transactions_files"],
    )
    (tmp_path / "Manifest.ocf.json").write_text(json.dumps(manifest))
    errors = [e for e in validate_package(tmp_path) if e.path == "file_type"]
    assert [str(e) for e in errors] == [
        "Stakeholders.ocf.json, file_type: the manifest lists this file as an "
        "OCF_TRANSACTIONS_FILE, but it is an OCF_STAKEHOLDERS_FILE.",
        "Transactions.ocf.json, file_type: the manifest lists this file as an "
        "OCF_STAKEHOLDERS_FILE, but it is an OCF_TRANSACTIONS_FILE.",
    ]


def test_a_filepath_outside_the_package_is_refused(tmp_path):
    package = tmp_path / "package"
    package.mkdir()
    write_package(package, {})
    (tmp_path / "Outside.ocf.json").write_text(json.dumps(transactions()))
    manifest = json.loads((package / "Manifest.ocf.json").read_text())
    manifest["transactions_files"] = [{"filepath": "../Outside.ocf.json", "md5": "0" * 32}]
    (package / "Manifest.ocf.json").write_text(json.dumps(manifest))
    (error,) = validate_package(package)
    assert (error.file, error.path) == ("Manifest.ocf.json", "transactions_files[0].filepath")
    assert "outside the package" in error.message


def test_a_broken_manifest_is_reported_and_its_files_still_checked(tmp_path):
    valid_package(tmp_path)
    manifest = json.loads((tmp_path / "Manifest.ocf.json").read_text())
    del manifest["as_of"]
    (tmp_path / "Manifest.ocf.json").write_text(json.dumps(manifest))
    (tmp_path / "Stakeholders.ocf.json").unlink()
    assert [(e.file, e.path, e.message) for e in validate_package(tmp_path)] == [
        ("Manifest.ocf.json", "", "'as_of' is a required property"),
        (
            "Stakeholders.ocf.json",
            "",
            "Manifest.ocf.json names this file (stakeholders_files[0]), but it is missing.",
        ),
    ]


def test_a_folder_without_a_manifest_says_so_and_lists_unreadable_files(tmp_path):
    (tmp_path / "Manifest.ocf.json").write_text("{oops")
    (tmp_path / "Transactions.ocf.json").write_text(json.dumps(transactions()))
    errors = validate_package(tmp_path)
    assert [(e.file, e.message[:38]) for e in errors] == [
        (str(tmp_path), "no JSON file here has file_type OCF_MA"),
        ("Manifest.ocf.json", "the file is not readable JSON (Expecti"),
    ]


def test_a_folder_with_two_manifests_is_reported(tmp_path):
    valid_package(tmp_path)
    (tmp_path / "Copy.ocf.json").write_text((tmp_path / "Manifest.ocf.json").read_text())
    (error,) = validate_package(tmp_path)
    assert error.message == (
        "the package has more than one manifest: Copy.ocf.json, Manifest.ocf.json."
    )


def test_a_missing_folder_is_reported(tmp_path):
    (error,) = validate_package(tmp_path / "nowhere")
    assert error.message == "there is no such file or folder."


def test_validation_from_cold_fetches_nothing(tmp_path):
    """With every cache emptied, the schemas are read and the validators built again, from
    the package's files only (the network is refused by the fixture)."""
    for cached in (validation._catalogue, validation._type_validator, validation._item_schema_ids):
        cached.cache_clear()
    manifest_file_lists.cache_clear()
    validation._known_valid.clear()
    assert validate_package(valid_package(tmp_path)) == []


# --------------------------------------------------------------------------- the command


def test_the_command_reports_a_valid_package(tmp_path):
    out, err = StringIO(), StringIO()
    call_command("validate_ocf", str(valid_package(tmp_path)), stdout=out, stderr=err)
    assert out.getvalue() == f"OCF package {tmp_path}: valid OCF 1.2.0, no problems.\n"
    assert err.getvalue() == ""


def test_the_command_prints_every_problem_and_fails(tmp_path):
    valid_package(tmp_path)
    (tmp_path / "Stakeholders.ocf.json").unlink()
    manifest = json.loads((tmp_path / "Manifest.ocf.json").read_text())
    manifest["generated_at"] = "yesterday"
    (tmp_path / "Manifest.ocf.json").write_text(json.dumps(manifest))
    out, err = StringIO(), StringIO()
    with pytest.raises(CommandError, match="2 problem"):
        call_command("validate_ocf", str(tmp_path), stdout=out, stderr=err)
    assert err.getvalue().splitlines() == [
        "Manifest.ocf.json, generated_at: 'yesterday' is not a 'date-time'",
        "Stakeholders.ocf.json: Manifest.ocf.json names this file (stakeholders_files[0]), "
        "but it is missing.",
    ]
    assert out.getvalue() == f"OCF package {tmp_path}: 2 problem(s).\n"
