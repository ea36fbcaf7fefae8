"""API representations of persons and their cards."""

from __future__ import annotations

from rest_framework import serializers

from .models import Attachment, IdentityDocument, Person, Policy, TreatmentCase


class PolicySerializer(serializers.ModelSerializer):
    smo = serializers.CharField(source="smo.code", default=None)

    class Meta:
        model = Policy
        fields = ["policy_type", "form", "series", "number", "enp", "smo", "valid_from", "valid_to", "source"]


class PersonSerializer(serializers.ModelSerializer):
    enp = serializers.CharField(source="current_enp", read_only=True)

    class Meta:
        model = Person
        fields = [
            "id",
            "last_name",
            "first_name",
            "middle_name",
            "birth_date",
            "sex",
            "snils",
            "enp",
            "fund_person_id",
            "identified_in_tfoms",
            "identified_at",
        ]


class DocumentSerializer(serializers.ModelSerializer):
    class Meta:
        model = IdentityDocument
        fields = ["doc_type", "series", "number", "issued_at", "issuer"]


class AttachmentSerializer(serializers.ModelSerializer):
    mo = serializers.CharField(source="mo.code")
    site = serializers.CharField(source="site.number", default=None)
    fap_site = serializers.CharField(source="fap_site.number", default=None)

    class Meta:
        model = Attachment
        fields = ["mo", "site", "fap_site", "method", "attach_type", "is_conditional", "date_from", "date_to"]


class CaseSerializer(serializers.ModelSerializer):
    mo = serializers.CharField(source="mo.code")

    class Meta:
        model = TreatmentCase
        fields = ["id", "kind", "number", "mo", "date_begin", "date_end", "payment"]


class PersonCardSerializer(serializers.Serializer):
    person = PersonSerializer()
    documents = DocumentSerializer(source="person.documents", many=True)
    policies = PolicySerializer(many=True)
    attachments = AttachmentSerializer(many=True)
    cases = CaseSerializer(many=True)
    warnings = serializers.ListField(child=serializers.CharField())
