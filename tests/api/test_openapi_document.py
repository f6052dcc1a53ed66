"""The generated OpenAPI document itself: every route is in it with its statuses, and no two
schemas share a name (django-ninja names components by class name, so a second class of the same
name would silently replace the first in the document and schemathesis would judge one route's
answers by another's schema)."""
import importlib
import inspect
import pkgutil

from ninja import Schema

from forge.api import api

API_PACKAGES = ("repos.api", "issues.api")
API_MODULES = ("accounts.api", "forge.api")


def _api_modules():
    names = list(API_MODULES)
    for package in API_PACKAGES:
        module = importlib.import_module(package)
        names += [f"{package}.{info.name}" for info in pkgutil.iter_modules(module.__path__)]
    return [importlib.import_module(name) for name in names]


def test_schema_class_names_are_unique():
    seen = {}
    for module in _api_modules():
        for name, value in vars(module).items():
            if inspect.isclass(value) and issubclass(value, Schema) and value.__module__ == module.__name__:
                other = seen.setdefault(value.__name__, value)
                assert other is value, f"two schemas named {value.__name__}: {other.__module__} and {module.__name__}"


def test_every_operation_documents_its_answers():
    document = api.get_openapi_schema(path_prefix="/api/v3/")
    operations = [(m, p) for p, item in document["paths"].items() for m in item]
    assert len(operations) >= 60
    for path, item in document["paths"].items():
        for method, operation in item.items():
            statuses = {str(status) for status in operation["responses"]}
            assert any(s.startswith("2") or s.startswith("3") for s in statuses), f"{method} {path}: no success"
            assert "401" in statuses, f"{method} {path}"
            assert operation.get("operationId"), f"{method} {path}"
