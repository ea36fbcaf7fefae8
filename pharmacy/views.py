"""«Настройка обмена с аптечными организациями» (manual §4.1.3): the ЦОД admin's page, organisations
on the left, the chosen one's settings and directories on the right."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse

from registry.access import workplace_required
from registry.models import Role

from .forms import OrganisationForm
from .models import PharmacyOrganisation
from .services import DC_ONLY, organisation_directories, organisation_save, organisation_warnings


@workplace_required()
def pharmacy_settings_view(request: HttpRequest) -> HttpResponse:
    if request.workplace.role != Role.DC_ADMIN:  # type: ignore[attr-defined]
        raise PermissionDenied(DC_ONLY)
    chosen_id = request.POST.get("organisation") or request.GET.get("org")
    organisation = (
        get_object_or_404(PharmacyOrganisation, pk=chosen_id) if chosen_id and chosen_id.isdigit() else None
    )
    creating = organisation is None and (request.GET.get("new") or request.method == "POST")
    if organisation is None and not creating:
        organisation = PharmacyOrganisation.objects.order_by("name").first()
    title = organisation.name if organisation is not None else ""  # as saved, whatever the form holds
    directories = organisation_directories(organisation)
    form = OrganisationForm(
        request.POST if request.method == "POST" else None, instance=organisation, directories=directories
    )
    if request.method == "POST" and form.is_valid():
        try:
            saved = organisation_save(
                organisation=organisation,
                fields=form.organisation_fields(),
                directories=form.directory_choices(),
                request=request,
            )
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            messages.success(request, f"Настройки сохранены: {saved.name}.")
            return redirect(f"{reverse('pharmacy_settings')}?org={saved.pk}")
    organisations = [
        (o, organisation_warnings(o)) for o in PharmacyOrganisation.objects.prefetch_related("directories")
    ]
    return render(
        request,
        "pharmacy/settings.html",
        {
            "organisations": organisations,
            "organisation": organisation,
            "title": title,
            "form": form,
            "warnings": organisation_warnings(organisation) if organisation is not None else [],
        },
    )
