"""The form «Направление на госпитализацию» (order 263 stage 3, SPEC C2)."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils import timezone

from registry.access import scope
from registry.models import BedProfile, Department, Mo, Person, Staff, Subdivision, Workplace

from .free_beds import profile_choices
from .models import Payment, Referral

HOSPITAL_GROUPS = (
    Department.GroupType.ROUND_THE_CLOCK,
    Department.GroupType.DAY_HOSPITAL,
    Department.GroupType.DAY_HOME,
    Department.GroupType.DAY_POLYCLINIC,
)
ICD10 = re.compile(r"^[A-Z]\d{2}(\.\d{1,2})?$")
DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


GOES_TO_FUND = (Referral.Kind.PLANNED, Referral.Kind.EMERGENCY)


class _BuildingField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.mo.code} · {obj.name}"


class _DepartmentField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.subdivision.mo.code} · {obj.subdivision.name} · {obj.name}"


class _ProfileField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.profile_code} {obj.name} — {obj.department.name} ({obj.department.subdivision.mo.code})"


def fixed_referring_mo(workplace: Workplace) -> Mo | None:
    """The МО a referral is written from: the МО admin's own; None: the ЦОД admin chooses it."""
    return None if workplace.sees_all_mo else workplace.mo


def hospitals() -> QuerySet[Mo]:
    return Mo.objects.filter(
        is_active=True, subdivisions__departments__group_type__in=HOSPITAL_GROUPS
    ).distinct()


class ReferralForm(forms.Form):
    mo = forms.ModelChoiceField(Mo.objects.filter(is_active=True), label="Направившая МО")
    kind = forms.ChoiceField(label="Вид направления", choices=Referral.Kind.choices)
    payment = forms.ChoiceField(label="Вид оплаты", choices=Payment.choices, initial=Payment.OMS)
    from_subdivision = _BuildingField(Subdivision.objects.none(), label="Направившее подразделение")
    doctor = forms.ModelChoiceField(Staff.objects.none(), label="Направивший врач", required=False)
    profile_code = forms.ChoiceField(label="Профиль коек (V020)", required=False)
    to_mo = forms.ModelChoiceField(Mo.objects.none(), label="МО госпитализации")
    to_department = _DepartmentField(Department.objects.none(), label="Отделение", required=False)
    to_bed_profile = _ProfileField(BedProfile.objects.none(), label="Профиль койки", required=False)
    diagnosis = forms.CharField(label="Диагноз (МКБ-10)", max_length=10)
    diagnosis_text = forms.CharField(label="Диагноз (текст)", max_length=500, required=False)
    referral_date = forms.DateField(label="Дата направления", widget=DATE)
    planned_date = forms.DateField(label="Планируемая дата госпитализации", widget=DATE, required=False)
    desired_date = forms.DateField(label="Желаемая дата госпитализации", widget=DATE, required=False)
    phone = forms.CharField(label="Телефон пациента", max_length=64, required=False)

    def _choices(self, name: str) -> Any:
        """A choice field of this form (typed loosely: Form.fields holds plain Field)."""
        return self.fields[name]

    def __init__(self, *args: Any, workplace: Workplace, person: Person, **kwargs: Any) -> None:
        """The referring МО is the МО admin's own (fixed); the ЦОД admin chooses it. The buildings and
        doctors offered are those of the viewer's scope."""
        super().__init__(*args, **kwargs)
        self.person = person
        self.initial.setdefault("referral_date", timezone.localdate())
        self.fixed_mo = fixed_referring_mo(workplace)
        if self.fixed_mo is not None:
            del self.fields["mo"]
        self._choices("from_subdivision").queryset = scope(
            Subdivision.objects.select_related("mo"), workplace
        )
        self._choices("doctor").queryset = scope(
            Staff.objects.filter(post_type=Staff.PostType.DOCTOR), workplace
        )
        self._choices("profile_code").choices = [("", "— выберите профиль —"), *profile_choices()]
        self._choices("to_mo").queryset = hospitals()
        self._choices("to_department").queryset = Department.objects.filter(
            group_type__in=HOSPITAL_GROUPS
        ).select_related("subdivision__mo")
        self._choices("to_bed_profile").queryset = BedProfile.objects.filter(
            department__group_type__in=HOSPITAL_GROUPS
        ).select_related("department__subdivision__mo")
        for name in ("profile_code", "to_mo", "to_department", "to_bed_profile"):
            self.fields[name].widget.attrs["data-target"] = name
        for field in self.fields.values():
            if isinstance(field, forms.ModelChoiceField):
                field.empty_label = "— не выбрано —"

    def referring_mo(self) -> Mo:
        return self.fixed_mo or self.cleaned_data["mo"]

    def clean_diagnosis(self) -> str:
        code = self.cleaned_data["diagnosis"].strip().upper()
        if not ICD10.match(code):
            raise forms.ValidationError("Код МКБ-10 вида «A00» или «A00.0» (латинская буква и цифры).")
        return code

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        mo = self.fixed_mo or data.get("mo")
        building, doctor = data.get("from_subdivision"), data.get("doctor")
        if mo is not None and building is not None and building.mo_id != mo.pk:
            self.add_error("from_subdivision", "Подразделение другой МО.")
        if mo is not None and doctor is not None and doctor.mo_id != mo.pk:
            self.add_error("doctor", "Врач другой МО.")
        to_mo, department, profile = data.get("to_mo"), data.get("to_department"), data.get("to_bed_profile")
        if department is not None and to_mo is not None and department.subdivision.mo_id != to_mo.pk:
            self.add_error("to_department", "Отделение не принадлежит выбранной МО госпитализации.")
        if profile is not None and department is not None and profile.department_id != department.pk:
            self.add_error("to_bed_profile", "Профиль коек другого отделения.")
        referral_date = data.get("referral_date")
        if referral_date is not None and referral_date > timezone.localdate():
            self.add_error("referral_date", "Дата направления ещё не наступила.")
        elif referral_date is not None and referral_date < self.person.birth_date:
            self.add_error("referral_date", "Дата направления раньше даты рождения пациента.")
        if data.get("kind") in GOES_TO_FUND and data.get("payment") == Payment.OMS:
            # what the fund's HOSPITALISATION_REFERRAL must name (formats §3.3: DIVISION_TO, V020)
            if department is None:
                self.add_error("to_department", "Укажите отделение: направление по ОМС передаётся в ТФОМС.")
            if profile is None:
                self.add_error(
                    "to_bed_profile", "Укажите профиль койки: направление по ОМС передаётся в ТФОМС."
                )
        for name in ("planned_date", "desired_date"):
            day = data.get(name)
            if day is not None and referral_date is not None and day < referral_date:
                self.add_error(name, "Раньше даты направления.")
        return data
