"""API shapes of dispensary observation."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from servicelog.serializers import LastPackageSerializer

from .selectors import CardState


class DispensaryCardSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="card.pk")
    mo = serializers.CharField(source="card.mo.code")
    person = serializers.IntegerField(source="card.person_id")
    person_name = serializers.CharField(source="card.person.full_name")
    diagnosis = serializers.CharField(source="card.diagnosis")
    date_in = serializers.DateField(source="card.date_in", allow_null=True)
    doctor_snils = serializers.SerializerMethodField()
    ds_detect = serializers.IntegerField(source="card.ds_detect", allow_null=True)
    ds_detect_type = serializers.IntegerField(source="card.ds_detect_type", allow_null=True)
    planned_visits = serializers.SerializerMethodField()
    date_out = serializers.DateField(source="card.date_out", allow_null=True)
    result_out = serializers.IntegerField(source="card.result_out", allow_null=True)
    status = serializers.CharField()
    last_package = LastPackageSerializer(allow_null=True, help_text="последний DISP или DISPOUT карты")
    cancer_package = LastPackageSerializer(allow_null=True, help_text="последний PERSCANCER (ЗНО)")

    def get_doctor_snils(self, state: CardState) -> str:
        doctor = state.card.doctor
        return doctor.snils if doctor else ""

    def get_planned_visits(self, state: CardState) -> list[Any]:
        return [visit.planned_date.isoformat() for visit in state.card.visits.all()]
