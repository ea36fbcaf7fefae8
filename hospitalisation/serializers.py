"""API shapes of order 263."""

from __future__ import annotations

from rest_framework import serializers

from servicelog.serializers import LastPackageSerializer


class ReferralSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="referral.pk")
    mo = serializers.CharField(source="referral.mo.code")
    number = serializers.CharField(source="referral.full_number", help_text="MCOD + год + 6 цифр")
    kind = serializers.CharField(source="referral.kind")
    kind_display = serializers.CharField(source="referral.get_kind_display")
    auto_created = serializers.BooleanField(source="referral.auto_created")
    payment = serializers.CharField(source="referral.payment")
    person = serializers.IntegerField(source="referral.person_id")
    person_name = serializers.CharField(source="referral.person.full_name")
    to_mo = serializers.CharField(source="referral.to_mo.code")
    to_department = serializers.CharField(source="referral.to_department.name", default=None)
    to_bed_profile = serializers.CharField(source="referral.to_bed_profile.profile_code", default=None)
    diagnosis = serializers.CharField(source="referral.diagnosis")
    referral_date = serializers.DateField(source="referral.referral_date")
    cancelled_at = serializers.DateField(source="referral.cancelled_at", allow_null=True)
    fund_result = serializers.CharField(source="referral.fund_result", help_text="ответ ИСЗЛ на направление")
    last_package = LastPackageSerializer(allow_null=True, help_text="последний HOSPITALISATION_REFERRAL")
    cancel_package = LastPackageSerializer(
        allow_null=True, help_text="последний CANCEL_HOSPITALISATION_REFERRAL"
    )


class MovementSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="movement.pk")
    department = serializers.CharField(source="movement.department.name")
    bed_profile = serializers.CharField(source="movement.bed_profile.profile_code", default=None)
    date_in = serializers.DateField(source="movement.date_in")
    date_out = serializers.DateField(source="movement.date_out", allow_null=True)
    outcome = serializers.IntegerField(source="movement.outcome", allow_null=True)
    last_package = LastPackageSerializer(allow_null=True, help_text="последний MOTION_IN_HOSPITAL")


class StaySerializer(serializers.Serializer):
    id = serializers.IntegerField(source="stay.pk")
    mo = serializers.CharField(source="stay.mo.code")
    card_number = serializers.CharField(source="stay.card_number")
    person = serializers.IntegerField(source="stay.person_id")
    person_name = serializers.CharField(source="stay.person.full_name")
    department = serializers.CharField(source="stay.department.name", default=None)
    admitted_at = serializers.DateTimeField(source="stay.admitted_at")
    payment = serializers.CharField(source="stay.payment")
    outcome = serializers.CharField(source="stay.outcome")
    outcome_display = serializers.CharField(source="stay.get_outcome_display")
    referral = serializers.CharField(source="stay.referral.full_number", default=None)
    last_package = LastPackageSerializer(allow_null=True, help_text="последний HOSPITALISATION")
    cancel_package = LastPackageSerializer(allow_null=True, help_text="последний CANCEL_HOSPITALISATION")
    movements = MovementSerializer(many=True)
