"""API representations of the journal."""

from __future__ import annotations

from rest_framework import serializers

from .models import Package, Service, ServiceRun


class ServiceSerializer(serializers.ModelSerializer):
    class Meta:
        model = Service
        fields = ["code", "name", "manual_start", "carries_packages"]


class RunSerializer(serializers.ModelSerializer):
    service = serializers.CharField(source="service.code")
    mo = serializers.CharField(source="mo.code", default=None)
    result_display = serializers.CharField(source="get_result_display")
    packages_total = serializers.IntegerField(default=0)
    packages_with_errors = serializers.IntegerField(default=0)

    class Meta:
        model = ServiceRun
        fields = [
            "id",
            "service",
            "mo",
            "trigger",
            "started_at",
            "finished_at",
            "result",
            "result_display",
            "packages_total",
            "packages_with_errors",
        ]


class PackageSerializer(serializers.ModelSerializer):
    message_id = serializers.CharField()
    service = serializers.CharField(source="service.code")
    mo = serializers.CharField(source="mo.code", default=None)
    status_display = serializers.CharField(source="get_status_display")
    has_reply = serializers.BooleanField()

    class Meta:
        model = Package
        fields = [
            "id",
            "message_id",
            "service",
            "run",
            "mo",
            "direction",
            "package_type",
            "operation",
            "status",
            "status_display",
            "result",
            "do_not_send",
            "created_at",
            "status_changed_at",
            "has_reply",
        ]


class PackageDetailSerializer(PackageSerializer):
    class Meta(PackageSerializer.Meta):
        fields = [*PackageSerializer.Meta.fields, "payload", "reply", "do_not_send_reason", "send_attempts"]


class DoNotSendSerializer(serializers.Serializer):
    value = serializers.BooleanField()
    reason = serializers.CharField(required=False, allow_blank=True, max_length=500)


class LastPackageSerializer(serializers.Serializer):
    """The newest package of a domain object, as the domain APIs show its exchange state."""

    message_id = serializers.CharField()
    package_type = serializers.CharField()
    operation = serializers.CharField()
    status = serializers.CharField()
    status_display = serializers.CharField(source="get_status_display")
    result = serializers.CharField()
    created_at = serializers.DateTimeField()
