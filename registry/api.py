"""Registry API under /api/v1/: persons (scoped like the pages) and the token endpoint."""

from __future__ import annotations

from typing import Any

from django.http import Http404
from rest_framework import mixins, viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from audit.models import AuditAction
from audit.services import audit_record
from registry.access import api_workplace, parse_id

from .forms import PersonSearchForm
from .models import Person
from .selectors import PersonQuery, person_card, person_search
from .serializers import PersonCardSerializer, PersonSerializer


class PersonViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Persons of the caller's МО; `?fio=&birth_date=YYYY-MM-DD&enp=&snils=` narrow the list (the same
    form as the search page validates them: a bad value is a 400 with the Russian message)."""

    serializer_class = PersonSerializer
    queryset = Person.objects.none()

    def _query(self) -> PersonQuery | None:
        form = PersonSearchForm(self.request.query_params)
        return PersonQuery(**form.cleaned_data) if form.is_valid() else None

    def get_queryset(self) -> Any:
        query = self._query()
        if query is None:
            return Person.objects.none()
        return person_search(workplace=api_workplace(self.request), query=query).prefetch_related("policies")

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        form = PersonSearchForm(request.query_params)
        if not form.is_valid():
            raise ValidationError({field: [str(e) for e in errors] for field, errors in form.errors.items()})
        return super().list(request, *args, **kwargs)

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        person_id = parse_id(kwargs["pk"])
        if person_id is None:
            raise Http404
        card = person_card(workplace=api_workplace(request), person_id=person_id)
        audit_record(action=AuditAction.PERSON_VIEWED, request=request._request, obj=card.person)
        return Response(PersonCardSerializer(card).data)
