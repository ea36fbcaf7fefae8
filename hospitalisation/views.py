"""«Направление на госпитализацию» (order 263 stage 3, SPEC C2): the referral form with the fund's free
beds asked over RPC and shown beside it; a click on a row fills the referral's target."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from registry.access import WorkplaceRequest, get_scoped_or_404, parse_id, workplace_required
from registry.models import ADMIN_ROLES, Mo, Person, Workplace
from servicelog.rpc_views import rpc_call_pane

from .forms import ReferralForm, fixed_referring_mo, hospitals
from .free_beds import UnknownProfile, free_beds_start
from .referrals import referral_create, referral_send_now

SAVED_FIELDS = (
    "kind",
    "payment",
    "from_subdivision",
    "doctor",
    "to_mo",
    "to_department",
    "to_bed_profile",
    "diagnosis",
    "diagnosis_text",
    "referral_date",
    "planned_date",
    "desired_date",
    "phone",
)


def _patient(workplace: Workplace, value: object) -> Person:
    """The patient within the viewer's МО; another МО's (or none) is not found."""
    person_id = parse_id(value)
    if person_id is None:
        raise Http404("Пациент не указан")
    return get_scoped_or_404(Person.objects.all(), workplace, pk=person_id)


@require_http_methods(["GET", "POST"])
@workplace_required(*ADMIN_ROLES)
def referral_new_view(request: WorkplaceRequest) -> HttpResponse:
    workplace = request.workplace
    assert workplace is not None
    person = _patient(workplace, request.POST.get("person") or request.GET.get("person"))
    form = ReferralForm(request.POST or None, workplace=workplace, person=person)
    if request.method == "POST" and form.is_valid():
        fields = {name: form.cleaned_data[name] for name in SAVED_FIELDS}
        fields["diagnosis_text"] = fields["diagnosis_text"] or ""
        referral = referral_create(mo=form.referring_mo(), person=person, fields=fields)
        sent = referral_send_now(referral=referral, user=request.user)
        messages.success(
            request,
            f"Направление {referral.full_number} от {referral.referral_date:%d.%m.%Y} сохранено. {sent}",
        )
        return redirect(reverse("person_card", args=[person.pk]))
    return render(request, "hospitalisation/referral_form.html", {"form": form, "person": person})


@require_POST
@workplace_required(*ADMIN_ROLES)
def free_beds_view(request: WorkplaceRequest) -> HttpResponse:
    """«Свободные койки» (or a bed profile chosen): the call's pane, polled until the fund answers."""
    workplace = request.workplace
    assert workplace is not None
    _patient(workplace, request.POST.get("person"))
    profile = (request.POST.get("profile_code") or "").strip()
    if not profile:
        return render(
            request, "hospitalisation/_free_beds_hint.html", {"text": "Выберите профиль коек (V020)."}
        )
    to_mo = hospitals().filter(pk=parse_id(request.POST.get("to_mo")) or 0).first()
    chosen = Mo.objects.filter(pk=parse_id(request.POST.get("mo")) or 0).first()
    mo = fixed_referring_mo(workplace) or chosen or workplace.mo
    try:
        call = free_beds_start(mo=mo, user=request.user, profile_code=profile, to_mo=to_mo)
    except UnknownProfile as exc:
        return render(request, "hospitalisation/_free_beds_hint.html", {"text": str(exc)})
    return rpc_call_pane(request, call)
