"""Forms of the registry pages: login, МО and workplace choice, person search."""

from __future__ import annotations

from django import forms

from . import checkdigits


class LoginForm(forms.Form):
    username = forms.CharField(label="Имя пользователя", max_length=150)
    password = forms.CharField(label="Пароль", widget=forms.PasswordInput, max_length=256)


class PersonSearchForm(forms.Form):
    fio = forms.CharField(label="ФИО", required=False, max_length=200)
    birth_date = forms.DateField(
        label="Дата рождения",
        required=False,
        input_formats=["%d.%m.%Y", "%Y-%m-%d"],
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"invalid": "Введите дату в формате ДД.ММ.ГГГГ."},
    )
    enp = forms.CharField(label="ЕНП", required=False, max_length=16)
    snils = forms.CharField(label="СНИЛС", required=False, max_length=14)

    def clean_enp(self) -> str:
        enp: str = self.cleaned_data["enp"].strip()
        if enp and not (len(enp) == 16 and enp.isdigit()):
            raise forms.ValidationError("ЕНП состоит из 16 цифр.")
        return enp

    def clean_snils(self) -> str:
        snils = checkdigits.digits_only(self.cleaned_data["snils"])
        if snils and len(snils) != 11:
            raise forms.ValidationError("СНИЛС состоит из 11 цифр.")
        return snils
