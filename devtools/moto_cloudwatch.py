"""CloudWatch alarms for moto's CloudFormation, which has no model of AWS::CloudWatch::Alarm.

moto implements the alarms themselves (PutMetricAlarm, DescribeAlarms) but its CloudFormation
skips an `AWS::CloudWatch::Alarm` with a warning, so infra/template.yaml's alarms would not be
there to look at. `register()` gives moto's CloudFormation a model that hands the resolved
properties (every !Ref, !Sub and !FindInMap already resolved by moto's own template engine) to
moto's put_metric_alarm, as CloudFormation hands them to the PutMetricAlarm API. Nothing of the
template is read here: what lands in moto is what the stack said.

moto keeps its models per process and the moto servers of the tests run in the test process,
so registering once there is enough; `devtools.sqs.moto_server()` does it.
"""

from __future__ import annotations

from typing import Any

from moto.cloudformation import parsing
from moto.cloudwatch.models import cloudwatch_backends
from moto.core.common_models import CloudFormationModel

ALARM_TYPE = "AWS::CloudWatch::Alarm"


def _put_alarm(name: str, properties: dict[str, Any], account_id: str, region_name: str) -> None:
    def number(key: str) -> Any:
        value = properties.get(key)
        return None if value is None else float(value)

    def whole(key: str) -> Any:
        value = properties.get(key)
        return None if value is None else int(value)

    cloudwatch_backends[account_id][region_name].put_metric_alarm(
        name=name,
        namespace=properties.get("Namespace"),
        metric_name=properties.get("MetricName"),
        comparison_operator=properties["ComparisonOperator"],
        evaluation_periods=int(properties["EvaluationPeriods"]),
        datapoints_to_alarm=whole("DatapointsToAlarm"),
        period=whole("Period"),
        threshold=number("Threshold"),
        statistic=properties.get("Statistic"),
        extended_statistic=properties.get("ExtendedStatistic"),
        description=properties.get("AlarmDescription"),
        dimensions=properties.get("Dimensions", []),
        alarm_actions=properties.get("AlarmActions", []),
        ok_actions=properties.get("OKActions"),
        insufficient_data_actions=properties.get("InsufficientDataActions"),
        unit=properties.get("Unit"),
        actions_enabled=properties.get("ActionsEnabled", True) not in (False, "false"),
        treat_missing_data=properties.get("TreatMissingData"),
        evaluate_low_sample_count_percentile=properties.get("EvaluateLowSampleCountPercentile"),
        threshold_metric_id=properties.get("ThresholdMetricId"),
    )


class StackAlarm(CloudFormationModel):
    """An alarm a stack created: its physical id (what !Ref gives) is the alarm's name."""

    def __init__(self, name: str):
        self.name = name

    @property
    def physical_resource_id(self) -> str:
        return self.name

    @staticmethod
    def cloudformation_name_type() -> str:
        return "AlarmName"

    @staticmethod
    def cloudformation_type() -> str:
        return ALARM_TYPE

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
    ) -> StackAlarm:
        properties = cloudformation_json["Properties"]
        name = properties.get("AlarmName") or resource_name
        _put_alarm(name, properties, account_id, region_name)
        return cls(name)

    @classmethod
    def update_from_cloudformation_json(  # type: ignore[misc]
        cls,
        original_resource: StackAlarm,
        new_resource_name: str,
        cloudformation_json: Any,
        account_id: str,
        region_name: str,
    ) -> StackAlarm:
        new_name = cloudformation_json["Properties"].get("AlarmName") or new_resource_name
        if new_name != original_resource.name:
            cloudwatch_backends[account_id][region_name].delete_alarms([original_resource.name])
        return cls.create_from_cloudformation_json(
            new_resource_name, cloudformation_json, account_id, region_name
        )

    @classmethod
    def delete_from_cloudformation_json(  # type: ignore[misc]
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str
    ) -> None:
        name = cloudformation_json["Properties"].get("AlarmName") or resource_name
        cloudwatch_backends[account_id][region_name].delete_alarms([name])

    def delete(self, account_id: str, region_name: str) -> None:
        cloudwatch_backends[account_id][region_name].delete_alarms([self.name])


def register() -> None:
    """Make moto's CloudFormation create AWS::CloudWatch::Alarm resources (idempotent)."""
    # Both maps are built once from CloudFormationModel's subclasses and cached: a map built
    # before this module was imported lacks the model, so it is put in explicitly.
    parsing.get_model_map()[ALARM_TYPE] = StackAlarm
    parsing.get_name_type_map()[ALARM_TYPE] = StackAlarm.cloudformation_name_type()
