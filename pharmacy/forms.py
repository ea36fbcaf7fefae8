"""The settings form of one pharmacy organisation: its fields and a row per directory."""

from __future__ import annotations

from typing import Any

from django import forms

from .models import Directory, Mode, PharmacyOrganisation
from .services import DirectoryChoice


class OrganisationForm(forms.ModelForm):
    class Meta:
        model = PharmacyOrganisation
        fields = ["name", "ogrn", "code", "active", "queue"]

    def __init__(self, *args: Any, directories: dict[str, DirectoryChoice], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["code"].disabled = True  # its system knows what it was sent under this code
        for code in Directory.values:
            choice = directories[code]
            self.fields[f"send_{code}"] = forms.BooleanField(required=False, initial=choice.enabled)
            self.fields[f"mode_{code}"] = forms.ChoiceField(
                choices=Mode.choices,
                initial=choice.mode,
                widget=forms.Select(attrs={"aria-label": f"Режим: {Directory(code).label}"}),
            )

    def organisation_bound_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.Meta.fields]

    def directory_rows(self) -> list[tuple[str, forms.BoundField, forms.BoundField]]:
        return [
            (Directory(code).label, self[f"send_{code}"], self[f"mode_{code}"]) for code in Directory.values
        ]

    def directory_choices(self) -> dict[str, DirectoryChoice]:
        data = self.cleaned_data
        return {
            code: DirectoryChoice(bool(data[f"send_{code}"]), data[f"mode_{code}"])
            for code in Directory.values
        }

    def organisation_fields(self) -> dict[str, Any]:
        return {name: self.cleaned_data[name] for name in self.Meta.fields}
