"""The shared data catalog: datasets, departments and service items, their schemas and key formats.

Pure Python (no gRPC, no database): parse catalog entries from YAML/JSON, check documents against a
dataset's Arrow schema, validate keys (USCC, resident id, electronic licence id), and decide the version
a schema change must carry. Errors are the classes in ``exchange.errors``.

The types are in ``catalog.model``; their dict form (parse and dump) in ``catalog.specs``, read with the one
validating reader of ``catalog.spec_reader``; spec files in ``catalog.yaml_io``.
"""

from catalog.identifiers import (
    KeyFormat,
    generate_licence_id,
    generate_resident_id,
    generate_uscc,
    is_valid_key,
    validate_key,
)
from catalog.model import (
    AdminLevel,
    Dataset,
    DatasetKind,
    DatasetStatus,
    Department,
    DepartmentKey,
    DepartmentStatus,
    KeyStatus,
    KeyUse,
    OpenAttribute,
    RequiredMaterial,
    ServiceItem,
    SharingMethod,
    SharingType,
    UpdateFrequency,
    department_name,
)
from catalog.schema import (
    DatasetSchema,
    FieldSpec,
    Sensitivity,
    arrow_type_text,
    parse_arrow_type,
    parse_schema,
    schema_to_list,
)
from catalog.specs import (
    dataset_to_dict,
    department_to_dict,
    material_violations,
    parse_dataset,
    parse_department,
    parse_service_item,
    parse_spec,
    service_item_to_dict,
    to_spec,
)
from catalog.versioning import SchemaChange, diff_schemas, resolve_version
from catalog.yaml_io import load_spec_file

__all__ = [
    "AdminLevel",
    "Dataset",
    "DatasetKind",
    "DatasetSchema",
    "DatasetStatus",
    "Department",
    "DepartmentKey",
    "DepartmentStatus",
    "FieldSpec",
    "KeyFormat",
    "KeyStatus",
    "KeyUse",
    "OpenAttribute",
    "RequiredMaterial",
    "SchemaChange",
    "Sensitivity",
    "ServiceItem",
    "SharingMethod",
    "SharingType",
    "UpdateFrequency",
    "arrow_type_text",
    "dataset_to_dict",
    "department_name",
    "department_to_dict",
    "diff_schemas",
    "generate_licence_id",
    "generate_resident_id",
    "generate_uscc",
    "is_valid_key",
    "load_spec_file",
    "material_violations",
    "parse_arrow_type",
    "parse_dataset",
    "parse_department",
    "parse_schema",
    "parse_service_item",
    "parse_spec",
    "resolve_version",
    "schema_to_list",
    "service_item_to_dict",
    "to_spec",
    "validate_key",
]
