"""moto's CloudFormation taught the edge resources it skips: CloudFront, WAFv2, S3 bucket policies.

moto 5.2's CloudFormation has no model for AWS::CloudFront::Distribution, ::OriginAccessControl,
AWS::WAFv2::WebACL, ::WebACLAssociation or AWS::S3::BucketPolicy (moto/cloudformation/
parsing.py): it warns, creates nothing, and a Fn::GetAtt on such a resource fails the stack.
moto's CloudFront, WAFv2 and S3 *APIs* do hold them, so the models below hand each resource's
properties to those backends, the way moto's own models do for the types it knows; the tests then
read the distribution, the web ACL and the policies back through boto3. `install()` registers
them in this process, where the tests' moto server runs (devtools.sqs.moto_server: a thread).

Two fixes of what moto does know. A stack update whose new parameters make a resource's Condition
true does not create it (moto only adds resources new to the template); CloudFormation does, and
the second `make infra` relies on it (RestApiId turns on WebAclApiStage): `_update_then_create`
creates them after moto's update. And moto's AWS::KMS::Key keeps KeyPolicy as the template's
object where its KMS API expects JSON text, so DescribeKey on the key fails; KmsKey stores text.

Left out, and checked in the template instead: AWS::WAFv2::LoggingConfiguration and
AWS::ApiGateway::DomainName/BasePathMapping (moto still skips them), and what moto's backends
drop on the way (an origin's OriginAccessControlId, a distribution's cache policies).
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Callable
from typing import Any

from moto.cloudformation import parsing
from moto.cloudfront.models import cloudfront_backends
from moto.core.common_models import CloudFormationModel
from moto.kms.models import Key
from moto.s3.models import s3_backends
from moto.utilities.utils import get_partition
from moto.wafv2.models import wafv2_backends


def _items(values: list | None) -> dict:
    """CloudFormation's list as CloudFront's API shape: {"Quantity": n, "Items": [...]}."""
    values = list(values or [])
    return {"Quantity": len(values), "Items": values}


def _behaviour(behaviour: dict) -> dict:
    behaviour = dict(behaviour)
    methods = behaviour.pop("AllowedMethods", ["GET", "HEAD"])
    cached = behaviour.pop("CachedMethods", ["GET", "HEAD"])
    behaviour["AllowedMethods"] = {**_items(methods), "CachedMethods": _items(cached)}
    return behaviour


def _distribution_config(properties: dict, caller_reference: str) -> dict:
    config = dict(properties["DistributionConfig"])
    config["CallerReference"] = caller_reference
    config["Origins"] = _items(config.get("Origins"))
    config["DefaultCacheBehavior"] = _behaviour(config["DefaultCacheBehavior"])
    config["CacheBehaviors"] = _items([_behaviour(b) for b in config.get("CacheBehaviors", [])])
    config["IsIPV6Enabled"] = config.pop("IPV6Enabled", True)
    if "Logging" in config:
        config["Logging"] = {"Enabled": True, **config["Logging"]}
    config.setdefault("Comment", "")
    return config


def _blob(text: Any) -> str:
    return base64.b64encode(str(text).encode()).decode()


def _api_rules(value: Any) -> Any:
    """A web ACL's rules as WAFv2's JSON API carries them: a SearchString is a base64 blob there,
    plain text in CloudFormation."""
    if isinstance(value, list):
        return [_api_rules(item) for item in value]
    if isinstance(value, dict):
        return {key: _blob(item) if key == "SearchString" else _api_rules(item)
                for key, item in value.items()}
    return value


class _Model:
    """A created resource: its physical id (what Ref gives), its Fn::GetAtt attributes, and how to
    remove it from its backend when the stack is deleted (moto's state outlives a stack: the
    next test's stack would find a duplicate web ACL).

    A mixin: each model subclasses CloudFormationModel itself, because moto finds its models
    among that class's direct subclasses.
    """

    def __init__(self, physical_resource_id: str, attributes: dict[str, str], remove: Callable[[], None]):
        self.physical_resource_id = physical_resource_id
        self.attributes = attributes
        self.remove = remove

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return True

    def get_cfn_attribute(self, attribute_name: str) -> Any:
        return self.attributes[attribute_name]

    def is_created(self) -> bool:
        return True

    @classmethod
    def update_from_cloudformation_json(cls, original_resource, new_resource_name, cloudformation_json,
                                        account_id, region_name):
        # CloudFormation would update in place; these resources only need to stay what they were.
        return original_resource

    @classmethod
    def delete_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name):
        pass

    def delete(self, account_id: str, region_name: str) -> None:
        self.remove()


class OriginAccessControl(_Model, CloudFormationModel):
    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::CloudFront::OriginAccessControl"

    @classmethod
    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name,
                                        **kwargs):
        config = cloudformation_json["Properties"]["OriginAccessControlConfig"]
        backend = cloudfront_backends[account_id][get_partition(region_name)]
        control = backend.create_origin_access_control(config)
        return cls(control.id, {"Id": control.id}, lambda: backend.delete_origin_access_control(control.id))


class Distribution(_Model, CloudFormationModel):
    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::CloudFront::Distribution"

    @classmethod
    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name,
                                        **kwargs):
        config = _distribution_config(cloudformation_json["Properties"], f"{resource_name}-{uuid.uuid4()}")
        backend = cloudfront_backends[account_id][get_partition(region_name)]
        distribution, _, _ = backend.create_distribution(distribution_config=config, tags=[])
        return cls(distribution.distribution_id,
                   {"Id": distribution.distribution_id, "DomainName": distribution.domain_name},
                   lambda: backend.delete_distribution(distribution.distribution_id, if_match=True))


class WebAcl(_Model, CloudFormationModel):
    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::WAFv2::WebACL"

    @classmethod
    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name,
                                        **kwargs):
        properties = cloudformation_json["Properties"]
        backend = wafv2_backends[account_id][region_name]
        web_acl = backend.create_web_acl(
            properties["Name"], properties["VisibilityConfig"], properties["DefaultAction"],
            properties["Scope"], properties.get("Description"), properties.get("Tags", []),
            _api_rules(properties.get("Rules", [])), None, None, None, None, None,
        )
        # Ref gives name|id|scope, as in AWS.
        return cls(f"{web_acl.name}|{web_acl.id}|{properties['Scope']}",
                   {"Arn": web_acl.arn, "Id": web_acl.id},
                   lambda: backend.delete_web_acl(web_acl.name, properties["Scope"], web_acl.id,
                                                  web_acl.lock_token))


class WebAclAssociation(_Model, CloudFormationModel):
    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::WAFv2::WebACLAssociation"

    @classmethod
    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name,
                                        **kwargs):
        properties = cloudformation_json["Properties"]
        backend = wafv2_backends[account_id][region_name]
        resource_arn = properties["ResourceArn"]
        backend.associate_web_acl(properties["WebACLArn"], resource_arn)
        return cls(resource_arn, {}, lambda: backend.disassociate_web_acl(resource_arn))


class BucketPolicy(_Model, CloudFormationModel):
    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::S3::BucketPolicy"

    @classmethod
    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name,
                                        **kwargs):
        properties = cloudformation_json["Properties"]
        document = properties["PolicyDocument"]
        # moto evaluates a bucket's policy, and the tests reach it over plain HTTP on loopback,
        # which DenyPlainHttp refuses (as AWS would): stored without it, checked in the template.
        statements = [s for s in document["Statement"] if s.get("Sid") != "DenyPlainHttp"]
        policy = json.dumps({**document, "Statement": statements}).encode()
        backend = s3_backends[account_id][get_partition(region_name)]
        backend.put_bucket_policy(properties["Bucket"], policy)
        return cls(properties["Bucket"], {}, lambda: backend.delete_bucket_policy(properties["Bucket"]))


class KmsKey(Key, CloudFormationModel):
    """moto's Key, its policy stored as JSON text (listed again as a direct subclass, to win)."""

    @classmethod
    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name,
                                        **kwargs):
        properties = cloudformation_json["Properties"]
        policy = properties.get("KeyPolicy")
        if isinstance(policy, dict):
            cloudformation_json = {**cloudformation_json, "Properties": {**properties,
                                                                         "KeyPolicy": json.dumps(policy)}}
        return super().create_from_cloudformation_json(resource_name, cloudformation_json, account_id,
                                                       region_name, **kwargs)


_moto_update = parsing.ResourceMap.update


def _update_then_create(self, template, parameters=None):
    _moto_update(self, template, parameters)
    for name in self._resource_json_map:
        if name not in self._parsed_resources:
            _ = self[name]  # moto's lookup creates a resource whose condition now holds, or nothing


def install() -> None:
    """Make moto's CloudFormation (in this process) use the models and the update above."""
    parsing.ResourceMap.update = _update_then_create
    parsing.get_model_map.cache_clear()
    parsing.get_name_type_map.cache_clear()
    models = parsing.get_model_map()
    for model in (OriginAccessControl, Distribution, WebAcl, WebAclAssociation, BucketPolicy, KmsKey):
        assert models[model.cloudformation_type()] is model, model
