"""The published API schema says every answer an operation can give (issue 16): drf-spectacular
documents the successes each view declares; this hook adds the refusals every operation shares —
400 for a wrong parameter or body, 401 without a valid token or session, 403 outside the role,
404 for what does not exist or belongs to another МО (A4) — unless the view declared its own."""

from __future__ import annotations

from typing import Any

ERROR = "Error"
REFUSALS = {
    "400": "Неверный параметр или тело запроса: что именно — в ответе",
    "401": "Нет действующего токена или сеанса",
    "403": "Действие не разрешено роли рабочего места",
    "404": "Не найдено или относится к другой МО",
}
METHODS = {"get", "post", "put", "patch", "delete"}


def add_refusals(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas[ERROR] = {
        "type": "object",
        "description": "Отказ: `detail` — причина по-русски; ошибки полей — по имени поля.",
        "properties": {"detail": {"type": "string"}},
        "additionalProperties": True,
    }
    body = {"application/json": {"schema": {"$ref": f"#/components/schemas/{ERROR}"}}}
    for operations in result.get("paths", {}).values():
        for method, operation in operations.items():
            if method not in METHODS:
                continue
            responses = operation.setdefault("responses", {})
            for code, description in REFUSALS.items():
                responses.setdefault(code, {"description": description, "content": body})
    return result
