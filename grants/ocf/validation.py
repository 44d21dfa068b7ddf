"""Checking OCF v1.2.0 files and packages against the coalition's schemas, offline.

The schemas are the project's own copy in ``grants/ocf/schema/``. They are loaded once into
a ``referencing`` registry keyed by each schema's ``$id``
(``https://schema.opencaptablecoalition.com/v/1.2.0/...``). The registry has no way to
retrieve anything, so a ``$ref`` that is not one of those files raises
``referencing.exceptions.Unresolvable``: nothing is ever fetched.

A file names its schema by its ``file_type``, and each item of a file's ``items`` by its
``object_type``. Each item is checked against the schema of its own object type, which is
exactly what the file schema's ``oneOf`` of object schemas amounts to (each of those
schemas admits only its own object types), but reports a broken item by its ``id`` and the
path to the broken value instead of "not valid under any of the given schemas".

Speed: a validator is built once per schema, with every ``$ref`` already replaced by the
registry's schema it names (draft-07 ignores a ``$ref``'s sibling keywords, so this changes
no verdict and no message), which halves the time jsonschema spends per item; and it
remembers values that met a subschema, so a value repeated across a book is checked once
(see ``_descend_remembering``). ``docs/ocf.md`` has the numbers.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from os import PathLike
from pathlib import Path, PurePosixPath
from typing import Any

from jsonschema import Draft7Validator
from jsonschema.exceptions import ValidationError, best_match
from jsonschema.protocols import Validator
from jsonschema.validators import extend
from referencing import Registry
from referencing.jsonschema import DRAFT7

OCF_VERSION = "1.2.0"
BASE_URI = f"https://schema.opencaptablecoalition.com/v/{OCF_VERSION}/"
DRAFT7_URI = "http://json-schema.org/draft-07/schema"
MANIFEST_FILE = "OCF_MANIFEST_FILE"
FILE_REFERENCE_ID = BASE_URI + "types/File.schema.json"


@dataclass(frozen=True)
class OcfError:
    """One problem found in an OCF file or package.

    ``file`` is the file's name (for a file named by a manifest, its path in the package);
    ``path`` the JSON path of the broken value in that file (``items[3].quantity``), empty
    when the problem is the file as a whole; ``object_id`` the ``id`` of the item of
    ``items`` the problem is in, when it is in one.
    """

    file: str
    path: str
    message: str
    object_id: str | None = None

    def __str__(self) -> str:
        where = [self.file]
        if self.object_id is not None:
            where.append(f"object {self.object_id!r}")
        if self.path:
            where.append(self.path)
        return f"{', '.join(where)}: {self.message}"


# --------------------------------------------------------------------------- the schemas


@dataclass(frozen=True)
class _Catalogue:
    schemas: dict[str, dict]  # $id -> schema
    registry: Registry
    by_file_type: dict[str, str]  # file_type -> $id
    by_object_type: dict[str, str]  # object_type -> $id


def _schema_files(folder: Traversable) -> Iterator[Traversable]:
    for entry in sorted(folder.iterdir(), key=lambda entry: entry.name):
        if entry.is_dir():
            yield from _schema_files(entry)
        elif entry.name.endswith(".schema.json"):
            yield entry


def _object_types(schema: Mapping) -> tuple[list[str], bool]:
    """The object types a schema admits, and whether it names exactly one (a ``const``)."""
    declared = schema.get("properties", {}).get("object_type", {})
    if "const" in declared:
        return [declared["const"]], True
    return list(declared.get("enum", [])), False


@functools.cache
def _catalogue() -> _Catalogue:
    schemas: dict[str, dict] = {}
    for entry in _schema_files(resources.files(__package__) / "schema"):
        schema = json.loads(entry.read_text(encoding="utf-8"))
        schema_id = schema.get("$id", "")
        if not schema_id.startswith(BASE_URI) or schema_id in schemas:
            raise ValueError(f"{entry.name}: $id {schema_id!r} is missing, foreign or repeated.")
        if schema.get("$schema", "").rstrip("#") != DRAFT7_URI:
            raise ValueError(f"{entry.name}: not a draft-07 schema.")
        schemas[schema_id] = schema
    registry = Registry().with_resources(
        (schema_id, DRAFT7.create_resource(schema)) for schema_id, schema in schemas.items()
    )
    by_file_type = {}
    by_object_type: dict[str, str] = {}
    exact: set[str] = set()
    for schema_id, schema in schemas.items():
        if file_type := schema.get("properties", {}).get("file_type", {}).get("const"):
            by_file_type[file_type] = schema_id
        names, is_const = _object_types(schema)
        for name in names:
            # TX_PLAN_SECURITY_ISSUANCE is admitted by EquityCompensationIssuance (an enum of
            # the old and new names) and named by PlanSecurityIssuance (a const): the const
            # is the schema of that type.
            if name in exact and is_const:
                raise ValueError(f"Two schemas claim the object type {name}.")
            if is_const or name not in by_object_type:
                by_object_type[name] = schema_id
            if is_const:
                exact.add(name)
    return _Catalogue(schemas, registry.crawl(), by_file_type, by_object_type)


def registry() -> Registry:
    """The registry of the project's OCF schemas, by ``$id``; it retrieves nothing else."""
    return _catalogue().registry


def schema_for(type_name: str) -> dict:
    """The schema of an OCF object type (``STAKEHOLDER``) or file type (``OCF_MANIFEST_FILE``).

    Raises ``LookupError`` for a name that is neither. Returns a copy: change it freely.
    """
    return copy.deepcopy(_catalogue().schemas[_schema_id(type_name)])


def _schema_id(type_name: str) -> str:
    catalogue = _catalogue()
    schema_id = catalogue.by_file_type.get(type_name) or catalogue.by_object_type.get(type_name)
    if schema_id is None:
        raise LookupError(f"{type_name!r} is neither an OCF object type nor an OCF file type.")
    return schema_id


def validator_for(schema_or_type: str | Mapping) -> Validator:
    """A draft-07 validator, with format checks, for an OCF type name or for a schema.

    A validator for a type name is built once and kept. Every ``$ref`` is resolved from the
    local registry when the validator is built; an unknown one raises
    ``referencing.exceptions.Unresolvable``.
    """
    if isinstance(schema_or_type, str):
        return _type_validator(_schema_id(schema_or_type))
    return _build_validator(schema_or_type)


@functools.cache
def _type_validator(schema_id: str) -> Validator:
    return _build_validator(_catalogue().schemas[schema_id], _RememberingValidator)


def _build_validator(schema: Mapping, kind: type = Draft7Validator) -> Validator:
    registry = _catalogue().registry
    return kind(
        _inline(schema, registry.resolver(), {}, ()),
        registry=registry,
        format_checker=Draft7Validator.FORMAT_CHECKER,
    )


# A value's verdict against a subschema depends on nothing else (the refs are inlined and
# the format checks are pure), and a book repeats values: dates, prices, enums, the same
# termination windows on every grant. The kept validators remember, per subschema, up to
# _REMEMBERED recent values that met it (scalars and objects of scalars) and skip checking
# them again, which saves about half the work on an option book. Only a full pass without
# an error is remembered, so every error is still found and reported as jsonschema makes it.
_REMEMBERED = 4096
_SCALARS = (str, int, float, bool, type(None))
_known_valid: dict[int, tuple[Any, set]] = {}  # id(subschema) -> (subschema, keys of values)


def _value_key(value: Any) -> Any:
    if isinstance(value, _SCALARS):
        return (type(value), value)
    if isinstance(value, dict) and all(isinstance(item, _SCALARS) for item in value.values()):
        return frozenset((name, type(item), item) for name, item in value.items())
    return None


def _descend_remembering(validator, value, subschema, path, schema_path=None):
    if subschema == {}:  # admits anything (the object schemas list inherited fields so)
        return
    key = _value_key(value) if _worth_remembering(subschema) else None
    if key is None:
        yield from validator.descend(value, subschema, path=path, schema_path=schema_path)
        return
    # The subschema is kept with its values, so its id() cannot be reused by another one.
    known = _known_valid.get(id(subschema))
    if known is not None and key in known[1]:
        return
    failed = False
    for error in validator.descend(value, subschema, path=path, schema_path=schema_path):
        failed = True
        yield error
    if failed:
        return
    if known is None:
        _known_valid[id(subschema)] = (subschema, {key})
        return
    if len(known[1]) >= _REMEMBERED:  # start afresh: a book's recent values recur soonest
        known[1].clear()
    known[1].add(key)


def _worth_remembering(subschema: Any) -> bool:
    """Whether checking a value costs more than a type check: a lone ``type`` is as quick to
    check as to look up, and the values under one (ids, names) rarely recur."""
    return isinstance(subschema, dict) and (len(subschema) > 1 or "type" not in subschema)


def _properties(validator, properties, instance, schema):
    if validator.is_type(instance, "object"):
        for name, subschema in properties.items():
            if name in instance:
                yield from _descend_remembering(validator, instance[name], subschema, name, name)


def _items(validator, items, instance, schema):
    if not validator.is_type(instance, "array"):
        return
    if validator.is_type(items, "array"):  # one schema per position
        for index, (item, subschema) in enumerate(zip(instance, items, strict=False)):
            yield from validator.descend(item, subschema, path=index, schema_path=index)
    else:
        for index, item in enumerate(instance):
            yield from _descend_remembering(validator, item, items, index)


_RememberingValidator = extend(Draft7Validator, {"properties": _properties, "items": _items})


_ANNOTATIONS = frozenset({"$id", "$schema", "$comment", "title", "description"})
_SUBSCHEMA_MAPS = frozenset({"properties", "patternProperties", "definitions", "dependencies"})
_SUBSCHEMAS = frozenset(
    {"allOf", "anyOf", "oneOf", "not", "if", "then", "else", "items", "additionalItems"}
    | {"contains", "additionalProperties", "propertyNames"}
)


def _inline(schema: Any, resolver, done: dict[str, Any], seen: tuple[str, ...]) -> Any:
    """``schema`` with each ``$ref`` replaced by the schema it names, from the registry.

    In draft-07 a ``$ref`` stands for its target and its sibling keywords are ignored, so
    replacing it changes no verdict. Annotations (``$id``, titles, descriptions) go: the
    validator needs none of them once nothing refers to them. A reference back into a
    schema being inlined stays a ``$ref``, resolved from the registry at validation time.
    Only keywords that hold schemas are walked; ``enum``, ``const`` and the names in
    ``properties`` are data.
    """
    if isinstance(schema, list):  # the array form of items, or a dependency's names
        return [_inline(value, resolver, done, seen) for value in schema]
    if not isinstance(schema, Mapping):  # true, false, or a name in a dependency
        return schema
    ref = schema.get("$ref")
    if ref is not None:
        if ref in seen:
            return {"$ref": ref}
        if ref not in done:
            done[ref] = _inline(resolver.lookup(ref).contents, resolver, done, (*seen, ref))
        return done[ref]
    inlined = {}
    for key, value in schema.items():
        if key in _ANNOTATIONS:
            continue
        if key in _SUBSCHEMA_MAPS and isinstance(value, Mapping):
            value = {name: _inline(sub, resolver, done, seen) for name, sub in value.items()}
        elif key in _SUBSCHEMAS:
            value = _inline(value, resolver, done, seen)
        inlined[key] = value
    return inlined


@functools.cache
def _item_schema_ids(file_type: str) -> dict[str, str]:
    """object_type -> $id of the schema an item of that type in a ``file_type`` file must meet.

    Read from the file schema: ``items`` is an array of one object schema or of a ``oneOf``
    of them; each admits only its own object types, and no two admit the same one.
    """
    catalogue = _catalogue()
    file_schema = catalogue.schemas[catalogue.by_file_type[file_type]]
    item_schema = file_schema.get("properties", {}).get("items", {}).get("items")
    if item_schema is None:
        return {}
    choices = item_schema.get("oneOf", [item_schema])
    schema_ids: dict[str, str] = {}
    for choice in choices:
        names, _ = _object_types(catalogue.schemas[choice["$ref"]])
        if not names or any(name in schema_ids for name in names):
            raise ValueError(f"{file_type}: cannot tell the items' schemas by object_type.")
        schema_ids.update(dict.fromkeys(names, choice["$ref"]))
    return schema_ids


@functools.cache
def manifest_file_lists() -> dict[str, str]:
    """The manifest's lists of files and the file type of each (``transactions_files`` ->
    ``OCF_TRANSACTIONS_FILE``), read from the manifest schema: every property that is an
    array of File references, named after the file type it lists."""
    catalogue = _catalogue()
    properties = catalogue.schemas[catalogue.by_file_type[MANIFEST_FILE]]["properties"]
    lists = {}
    for key, prop in properties.items():
        if prop.get("items", {}).get("$ref") == FILE_REFERENCE_ID:
            file_type = f"OCF_{key.removesuffix('_files').upper()}_FILE"
            if file_type not in catalogue.by_file_type:
                raise ValueError(f"The manifest's {key} names no known file type.")
            lists[key] = file_type
    return lists


# --------------------------------------------------------------------------- files


def validate_file(
    source: str | PathLike | Any, *, name: str | None = None, file_type: str | None = None
) -> list[OcfError]:
    """Every problem in one OCF file: a path to a JSON file, or its parsed content (a dict).

    ``name`` is how errors name the file (default: the file's name). With ``file_type``, the
    file must also be of that type (a manifest lists each file under its type). Unreadable
    JSON is reported as an error, never raised.
    """
    if not isinstance(source, str | PathLike):
        return _validate_document(source, name or "(OCF data)", file_type)
    path = Path(source)
    name = name or path.name
    loaded = _load(path)
    if loaded.problem:
        return [OcfError(name, "", loaded.problem)]
    return _validate_document(loaded.data, name, file_type)


def _validate_document(data: Any, name: str, expected_type: str | None) -> list[OcfError]:
    catalogue = _catalogue()
    if not isinstance(data, Mapping):
        return [OcfError(name, "", f"an OCF file is a JSON object, not {_kind(data)}.")]
    file_type = data.get("file_type")
    if file_type is None:
        return [OcfError(name, "", "the file has no file_type, so it has no schema to meet.")]
    if not isinstance(file_type, str) or file_type not in catalogue.by_file_type:
        known = ", ".join(sorted(catalogue.by_file_type))
        return [OcfError(name, "file_type", f"{file_type!r} is not an OCF file type ({known}).")]
    errors = []
    if expected_type is not None and file_type != expected_type:
        errors.append(
            OcfError(
                name,
                "file_type",
                f"the manifest lists this file as an {expected_type}, but it is an {file_type}.",
            )
        )
    validator = _type_validator(catalogue.by_file_type[file_type])
    items = data.get("items")
    if _item_schema_ids(file_type) and isinstance(items, list):
        # The file without its items, then each item against its own object type's schema.
        errors += [_error(name, error) for error in validator.iter_errors({**data, "items": []})]
        for index, item in enumerate(items):
            errors += _item_errors(name, file_type, index, item)
    else:
        errors += [_error(name, error) for error in validator.iter_errors(data)]
    return errors


def _item_errors(name: str, file_type: str, index: int, item: Any) -> list[OcfError]:
    where = f"items[{index}]"
    if not isinstance(item, Mapping):
        return [OcfError(name, where, f"an OCF object is a JSON object, not {_kind(item)}.")]
    object_id = item.get("id") if isinstance(item.get("id"), str) else None
    object_type = item.get("object_type")
    schema_id = _item_schema_ids(file_type).get(object_type) if _hashable(object_type) else None
    if schema_id is None:
        if object_type is None:
            return [OcfError(name, where, "the object has no object_type.", object_id)]
        if object_type in _catalogue().by_object_type:
            problem = f"{object_type} is not among the object types an {file_type} holds."
        else:
            problem = f"{object_type!r} is not an OCF object type."
        return [OcfError(name, f"{where}.object_type", problem, object_id)]
    validator = _type_validator(schema_id)
    return [_error(name, error, where, object_id) for error in validator.iter_errors(item)]


def _error(
    name: str, error: ValidationError, prefix: str = "", object_id: str | None = None
) -> OcfError:
    # An error under anyOf/oneOf carries each alternative's errors; when one of them is
    # clearly the point (a bad date where a date or null is allowed), report that one.
    error = best_match([error])
    message = error.message
    if isinstance(error.instance, dict | list):
        # jsonschema opens with the whole offending value: name a long one instead.
        shown = repr(error.instance)
        if len(shown) > 40 and message.startswith(shown):
            kind = "the object" if isinstance(error.instance, dict) else "the array"
            message = kind + message[len(shown) :]
    return OcfError(name, _json_path(prefix, error.absolute_path), message, object_id)


_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _json_path(prefix: str, parts) -> str:
    path = prefix
    for part in parts:
        if isinstance(part, int):
            path += f"[{part}]"
        elif _NAME.fullmatch(part):
            path += f".{part}" if path else part
        else:
            path += f"[{json.dumps(part)}]"
    return path


def _kind(value: Any) -> str:
    return {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), "a number"
    )


def _hashable(value: Any) -> bool:
    return isinstance(value, str | int | float | bool | None)


# --------------------------------------------------------------------------- packages


@dataclass(frozen=True)
class _Loaded:
    raw: bytes = b""
    data: Any = None
    problem: str = ""


def _load(path: Path) -> _Loaded:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return _Loaded(problem="the file does not exist.")
    except OSError as error:
        return _Loaded(problem=f"the file cannot be read ({error.strerror or error}).")
    try:
        return _Loaded(raw, json.loads(raw))
    except (ValueError, RecursionError) as error:  # JSONDecodeError, UnicodeDecodeError
        return _Loaded(raw, problem=f"the file is not readable JSON ({error}).")


def validate_package(directory: str | PathLike) -> list[OcfError]:
    """Every problem in an OCF package: a folder with one manifest, or the manifest itself.

    The manifest (the JSON file whose ``file_type`` is ``OCF_MANIFEST_FILE``) is checked,
    then each file its ``*_files`` lists name (``{filepath, md5}``, paths relative to the
    manifest): the file must exist inside the package, have the MD5 the manifest gives, be
    readable JSON, be of the list's file type and meet its schema. Every problem is an
    ``OcfError`` in the list returned; nothing is raised.
    """
    root = Path(directory)
    if root.is_file():
        manifest_path, manifest = root, _load(root)
        root = root.parent
    elif root.is_dir():
        found = _find_manifest(root)
        if isinstance(found, list):
            return found
        manifest_path, manifest = found
    else:
        return [OcfError(str(directory), "", "there is no such file or folder.")]
    manifest_name = manifest_path.name
    if manifest.problem:
        return [OcfError(manifest_name, "", manifest.problem)]
    errors = _validate_document(manifest.data, manifest_name, MANIFEST_FILE)
    if not isinstance(manifest.data, Mapping):
        return errors
    for key, file_type in manifest_file_lists().items():
        entries = manifest.data.get(key)
        for index, entry in enumerate(entries if isinstance(entries, list) else []):
            if isinstance(entry, Mapping) and isinstance(entry.get("filepath"), str):
                errors += _check_named_file(
                    root, manifest_name, f"{key}[{index}]", entry, file_type
                )
    return errors


def _find_manifest(root: Path) -> tuple[Path, _Loaded] | list[OcfError]:
    loaded = {path: _load(path) for path in sorted(root.glob("*.json")) if path.is_file()}
    manifests = [
        (path, content)
        for path, content in loaded.items()
        if isinstance(content.data, Mapping) and content.data.get("file_type") == MANIFEST_FILE
    ]
    if len(manifests) == 1:
        return manifests[0]
    if manifests:
        names = ", ".join(path.name for path, _ in manifests)
        return [OcfError(str(root), "", f"the package has more than one manifest: {names}.")]
    # One of the unreadable files may have been meant as the manifest: say which they are.
    return [
        OcfError(str(root), "", f"no JSON file here has file_type {MANIFEST_FILE}."),
        *(
            OcfError(path.name, "", content.problem)
            for path, content in loaded.items()
            if content.problem
        ),
    ]


def _check_named_file(
    root: Path, manifest_name: str, where: str, entry: Mapping, file_type: str
) -> list[OcfError]:
    filepath = PurePosixPath(entry["filepath"])
    name = str(filepath)
    path = root / filepath
    if filepath.is_absolute() or not path.resolve().is_relative_to(root.resolve()):
        return [
            OcfError(
                manifest_name,
                f"{where}.filepath",
                f"{entry['filepath']!r} is outside the package; a filepath is relative to "
                "the manifest's folder.",
            )
        ]
    if not path.is_file():
        return [
            OcfError(name, "", f"{manifest_name} names this file ({where}), but it is missing.")
        ]
    loaded = _load(path)
    errors = []
    expected = entry.get("md5")
    if isinstance(expected, str) and loaded.raw:
        actual = hashlib.md5(loaded.raw, usedforsecurity=False).hexdigest()
        if actual != expected.lower():
            errors.append(
                OcfError(
                    name,
                    "",
                    f"its MD5 is {actual}, but {manifest_name} ({where}.md5) says {expected}.",
                )
            )
    if loaded.problem:
        return [*errors, OcfError(name, "", loaded.problem)]
    return errors + _validate_document(loaded.data, name, file_type)
