"""infra/: the template lints clean, and `make infra STAGE=dev` builds it on a moto server.

`infra/deploy.py --stage dev` runs as `make infra` runs it (a subprocess, boto3 pointed at a
moto server on loopback by AWS_ENDPOINT_URL), twice: the first run creates the stack, the
second updates it. The tests then look at what moto holds, and at the scratch copy of
zappa_settings.json the runs rewrote (the repository's own file is never touched).

moto's CloudFormation has no model for CloudFront, WAFv2 or AWS::S3::BucketPolicy: the tests
install tests/support/moto_edge.py's, which hand those resources to moto's own CloudFront, WAFv2
and S3 backends, so the distribution, the web ACL and the bucket policies are read back from
moto. It applies only BucketEncryption and Tags of an AWS::S3::Bucket (see
FakeBucket.create_from_cloudformation_json in moto/s3/models.py), only the ingress of a
security group, and skips the web ACL's logging. What it cannot show — public access blocks,
ownership controls, versioning, lifecycle, access logs, egress, the WAF rules' logic —
TestTemplate checks in the template itself, after cfn-lint has checked it against
CloudFormation's schemas; checkov (its own venv, `make checkov-venv`) scans it too.
"""

from __future__ import annotations

import copy
import fnmatch
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError

from devtools.sqs import REGION, aws_environment, moto_server
from devtools.workers import closed_port
from infra import deploy
from tests.support import moto_edge

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "infra" / "template.yaml"
DEPLOY = ROOT / "infra" / "deploy.py"
REPO_SETTINGS = ROOT / "zappa_settings.json"
STAGE = "dev"
STACK = "myshop-dev-infra"
SECRET = "myshop-dev/django"
WORKER = "shop_project.lambda_worker.handler"
FUNCTION_TIMEOUT = 30  # seconds, zappa_settings.json's timeout_seconds
DEPLOY_TIMEOUT = 120  # seconds for one deploy.py run on moto (it takes about 1)
ALARM_EMAIL = "ops@example.com"

# The settings deploy.py runs on when the repository has no zappa_settings.json, and the
# case the repository's file does not show: production inheriting events and environment.
SAMPLE_SETTINGS = {
    "dev": {
        "project_name": "myshop",
        "runtime": "python3.11",
        "aws_region": REGION,
        "django_settings": "shop_project.settings.production",
        "memory_size": 1024,
        "timeout_seconds": FUNCTION_TIMEOUT,
        "exclude_glob": ["infra", "*.md"],
        "events": [
            {"function": WORKER, "event_source": {"arn": "arn:aws:sqs:placeholder", "batch_size": 10}},
            {
                "function": "apps.orders.lambda_handlers.confirmations_sweep_handler",
                "expression": "rate(5 minutes)",
            },
        ],
        "aws_environment_variables": {
            "DJANGO_ALLOWED_HOSTS": ".execute-api.eu-west-1.amazonaws.com",
            "DJANGO_DEFAULT_FROM_EMAIL": "My Shop <shop@example.com>",
        },
    },
    "production": {"extends": "dev", "memory_size": 2048},
}
# The keys deploy.py writes into a stage's section; every other key must stay as it was.
WRITTEN_KEYS = {"role_arn", "manage_roles", "s3_bucket", "vpc_config", "events", "aws_environment_variables"}
# What the stack's outputs look like, for the tests that need no AWS.
FAKE_OUTPUTS = {
    "QueueUrl": "https://sqs.eu-west-1.amazonaws.com/123456789012/q",
    "QueueArn": "arn:aws:sqs:eu-west-1:123456789012:q",
    "DeadLetterQueueUrl": "https://sqs.eu-west-1.amazonaws.com/123456789012/dlq",
    "StaticBucketName": "static-bucket",
    "MediaBucketName": "media-bucket",
    "DeployBucketName": "deploy-bucket",
    "LambdaRoleArn": "arn:aws:iam::123456789012:role/r",
    "LambdaPolicyArn": "arn:aws:iam::123456789012:policy/p",
    "SecretArn": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:myshop-dev/django-AbCdEf",
    "LambdaSubnetIds": "subnet-1,subnet-2",
    "LambdaSecurityGroupId": "sg-1",
    "DatabaseEndpoint": "db.example",
    "DatabasePort": "5432",
    "StaticDomainName": "d111111abcdef8.cloudfront.net",
    "MediaDomainName": "d111111abcdef8.cloudfront.net",
}

# moto warns that it skips the web ACL's logging (see the module's docstring), and that it has no
# error shape for the DependencyViolation of its stack deletion (Deployment.remove_stack_and_secret).
# Dots stand for the colons and parentheses a warning filter cannot hold.
pytestmark = [
    pytest.mark.filterwarnings("ignore:Tried to parse AWS..WAFv2..LoggingConfiguration:UserWarning"),
    pytest.mark.filterwarnings("ignore:Exception.DependencyViolationError. with code:UserWarning"),
]


def cfn_lint_installed() -> bool:
    return importlib.util.find_spec("cfnlint") is not None


needs_cfn_lint = pytest.mark.skipif(
    not cfn_lint_installed(), reason="cfn-lint is not installed (pip install -r requirements-dev.txt)"
)


def load_template() -> dict:
    from cfnlint.decode import decode  # cfn-lint's reader knows the !Ref short forms

    template, problems = decode(str(TEMPLATE))
    assert not problems, problems
    return template


def run_deploy(settings_path: Path, *arguments: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """`make infra STAGE=dev`, on the given settings file."""
    return subprocess.run(
        [sys.executable, str(DEPLOY), "--stage", STAGE, "--zappa-settings", str(settings_path), *arguments],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=DEPLOY_TIMEOUT,
    )


def printed_outputs(stdout: str) -> dict[str, str]:
    """The outputs table deploy.py prints: a header, a rule, `key  value` lines, a blank line."""
    lines = stdout.splitlines()
    start = lines.index(next(line for line in lines if line.split() == ["Output", "Value"])) + 2
    end = lines.index("", start)
    return dict(line.split(None, 1) for line in lines[start:end])


def routes(config: dict, paths: list[str] | None = None) -> dict[str, str]:
    """The origin domain CloudFront fetches each path from: the first behaviour whose pattern
    matches, else the default (CloudFront's patterns know * and ?, as fnmatch does)."""
    paths = paths or ["css/base.0123456789ab.css", "products/2026/01/01/shirt.png"]
    origins = {origin["Id"]: origin["DomainName"] for origin in config["Origins"]["Items"]}
    behaviours = config["CacheBehaviors"].get("Items", [])
    found = {}
    for path in paths:
        matching = [b for b in behaviours if fnmatch.fnmatchcase(path, b["PathPattern"].lstrip("/"))]
        found[path] = origins[(matching or [config["DefaultCacheBehavior"]])[0]["TargetOriginId"]]
    return found


# The stack on moto ----------------------------------------------------------------------------


@dataclass
class Deployment:
    endpoint_url: str
    region: str
    settings_path: Path
    settings_before: dict
    runs: list[subprocess.CompletedProcess] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    secret_after_first_run: dict = field(default_factory=dict)

    def client(self, service: str):
        return boto3.client(
            service,
            endpoint_url=self.endpoint_url,
            region_name=self.region,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    @property
    def stack(self) -> dict:
        return self.client("cloudformation").describe_stacks(StackName=STACK)["Stacks"][0]

    @property
    def outputs(self) -> dict[str, str]:
        return {output["OutputKey"]: output["OutputValue"] for output in self.stack["Outputs"]}

    def secret(self) -> dict:
        return json.loads(self.client("secretsmanager").get_secret_value(SecretId=SECRET)["SecretString"])

    def remove_stack_and_secret(self) -> None:
        """Remove the stack and the secret: moto's state is shared by every server in this process.

        moto deletes a stack's resources in no particular order: the role goes only once its
        policy is detached, and the VPC's pieces stay behind (DependencyViolation), unnamed
        and unlooked-at. The stack itself is gone either way, and so no longer found by tag.
        """
        cloudformation, iam = self.client("cloudformation"), self.client("iam")
        try:
            outputs = self.outputs
            iam.detach_role_policy(
                RoleName=outputs["LambdaRoleArn"].rsplit("/", 1)[-1], PolicyArn=outputs["LambdaPolicyArn"]
            )
        except ClientError:
            pass  # no such stack, or a stack without its outputs
        try:
            cloudformation.delete_stack(StackName=STACK)  # dev: no termination protection
        except ClientError:
            pass  # moto's DependencyViolation (see above)
        try:
            self.client("secretsmanager").delete_secret(SecretId=SECRET, ForceDeleteWithoutRecovery=True)
        except ClientError:
            pass  # no such secret


@pytest.fixture(scope="module")
def deployment(tmp_path_factory) -> Deployment:
    """Two runs of `infra/deploy.py --stage dev` on a moto server: create, then update."""
    settings_path = tmp_path_factory.mktemp("infra") / "zappa_settings.json"
    if REPO_SETTINGS.exists():
        shutil.copyfile(REPO_SETTINGS, settings_path)
    else:
        settings_path.write_text(json.dumps(SAMPLE_SETTINGS, indent=4) + "\n")
    settings_before = json.loads(settings_path.read_text())
    region = deploy.stage_settings(settings_before, STAGE).get("aws_region", REGION)

    moto_edge.install()
    with moto_server(region=region) as server, aws_environment(server):
        deployment = Deployment(
            endpoint_url=server.endpoint_url,
            region=region,
            settings_path=settings_path,
            settings_before=settings_before,
        )
        deployment.remove_stack_and_secret()  # what another test in this process may have left
        for run in range(2):
            started = time.monotonic()
            # The subscriber is given once; the update without it must keep it.
            arguments = ("--alarm-email", ALARM_EMAIL) if run == 0 else ()
            deployment.runs.append(run_deploy(settings_path, *arguments))
            deployment.seconds.append(time.monotonic() - started)
            result = deployment.runs[-1]
            assert result.returncode == 0, f"run {run + 1}:\n{result.stdout}\n{result.stderr}"
            if run == 0:
                deployment.secret_after_first_run = deployment.secret()
        print("infra/deploy.py on moto: " + ", ".join(f"{seconds:.1f} s" for seconds in deployment.seconds))
        yield deployment
        deployment.remove_stack_and_secret()


class TestDeployOnMoto:
    def test_first_run_creates_the_stack_and_prints_every_output(self, deployment):
        first = deployment.runs[0]
        assert f"Creating the stack {STACK}" in first.stdout
        assert f"Created the secret {SECRET}" in first.stdout
        outputs = deployment.outputs
        assert set(deploy.CONTRACT_OUTPUTS) <= outputs.keys()
        assert printed_outputs(first.stdout) == outputs
        # test_zappa_deploy finds the stack by these tags, as an operator's cost report would.
        assert {"Key": "Project", "Value": "myshop"} in deployment.stack["Tags"]
        assert {"Key": "Stage", "Value": "dev"} in deployment.stack["Tags"]

    def test_second_run_updates_and_keeps_outputs_and_secret(self, deployment):
        second = deployment.runs[1]
        assert f"Updating the stack {STACK}" in second.stdout
        assert deployment.stack["StackStatus"] in ("UPDATE_COMPLETE", "CREATE_COMPLETE")
        assert printed_outputs(second.stdout) == printed_outputs(deployment.runs[0].stdout)
        # A new key would end every session; a new password would lock the function out.
        assert deployment.secret() == deployment.secret_after_first_run
        assert "Created the secret" not in second.stdout

    def test_task_queue_outlasts_the_function_six_times_and_dead_letters_after_five(self, deployment):
        sqs, outputs = deployment.client("sqs"), deployment.outputs
        queue = sqs.get_queue_attributes(QueueUrl=outputs["QueueUrl"], AttributeNames=["All"])["Attributes"]
        dlq = sqs.get_queue_attributes(QueueUrl=outputs["DeadLetterQueueUrl"], AttributeNames=["All"])[
            "Attributes"
        ]
        assert int(queue["VisibilityTimeout"]) >= 6 * FUNCTION_TIMEOUT
        assert queue["QueueArn"] == outputs["QueueArn"]
        redrive = json.loads(queue["RedrivePolicy"])
        assert redrive["deadLetterTargetArn"] == dlq["QueueArn"]
        assert int(redrive["maxReceiveCount"]) == 5
        assert int(dlq["MessageRetentionPeriod"]) == 14 * 24 * 3600
        # The stack's customer key, not SQS's own.
        assert queue["KmsMasterKeyId"] == dlq["KmsMasterKeyId"]
        key = deployment.client("kms").describe_key(KeyId=queue["KmsMasterKeyId"])["KeyMetadata"]
        assert key["Arn"] == outputs["DataKeyArn"] and key["KeyManager"] == "CUSTOMER"
        assert deployment.client("kms").get_key_rotation_status(KeyId=key["KeyId"])["KeyRotationEnabled"]

    def test_buckets_exist_encrypted_with_s3_keys(self, deployment):
        # SSE-S3: S3 access logs accept no other, and KMS would charge each CloudFront miss. The
        # public access blocks are not applied by moto; TestTemplate checks them.
        s3, outputs = deployment.client("s3"), deployment.outputs
        for name in ("StaticBucketName", "MediaBucketName", "DeployBucketName", "LogBucketName"):
            rules = s3.get_bucket_encryption(Bucket=outputs[name])["ServerSideEncryptionConfiguration"][
                "Rules"
            ]
            assert [rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] for rule in rules] == [
                "AES256"
            ]
        assert (
            len({outputs[name] for name in ("StaticBucketName", "MediaBucketName", "DeployBucketName",
                                            "LogBucketName")}) == 4
        )

    def test_no_bucket_policy_lets_anyone_but_the_distribution_read(self, deployment):
        s3, outputs = deployment.client("s3"), deployment.outputs
        distribution_arn = f"arn:aws:cloudfront::123456789012:distribution/{outputs['FilesDistributionId']}"
        readers = {}
        for name in ("StaticBucketName", "MediaBucketName", "DeployBucketName", "LogBucketName"):
            policy = json.loads(s3.get_bucket_policy(Bucket=outputs[name])["Policy"])
            for statement in policy["Statement"]:
                if statement["Effect"] == "Allow":
                    # Never "*": public access is blocked, and no policy asks for it.
                    assert statement["Principal"] != "*" and "AWS" not in statement["Principal"], name
                    readers.setdefault(name, []).append(
                        (statement["Principal"]["Service"], statement["Action"], statement.get("Condition")))
        assert readers == {
            "StaticBucketName": [("cloudfront.amazonaws.com", "s3:GetObject",
                                  {"StringEquals": {"AWS:SourceArn": distribution_arn}})],
            "MediaBucketName": [("cloudfront.amazonaws.com", "s3:GetObject",
                                 {"StringEquals": {"AWS:SourceArn": distribution_arn}})],
            "LogBucketName": [("logging.s3.amazonaws.com", "s3:PutObject",
                               {"StringEquals": {"aws:SourceAccount": "123456789012"}})],
        }

    def test_the_distribution_serves_static_files_and_product_images_from_the_buckets(self, deployment):
        outputs = deployment.outputs
        distribution = deployment.client("cloudfront").get_distribution(Id=outputs["FilesDistributionId"])
        distribution = distribution["Distribution"]
        assert distribution["DomainName"] == outputs["StaticDomainName"] == outputs["MediaDomainName"]
        assert outputs["StaticDomainName"].endswith(".cloudfront.net")
        config = distribution["DistributionConfig"]
        assert config["Enabled"] is True
        # Which bucket answers which path: the default behaviour static, products/* media.
        assert routes(config) == {
            "css/base.0123456789ab.css": f"{outputs['StaticBucketName']}.s3.{REGION}.amazonaws.com",
            "products/2026/01/01/shirt.png": f"{outputs['MediaBucketName']}.s3.{REGION}.amazonaws.com",
        }
        behaviours = [config["DefaultCacheBehavior"], *config["CacheBehaviors"].get("Items", [])]
        for behaviour in behaviours:
            assert behaviour["ViewerProtocolPolicy"] == "redirect-to-https"
            assert behaviour["Compress"] is True
            assert behaviour["AllowedMethods"]["Items"] == ["GET", "HEAD"]
        [control] = deployment.client("cloudfront").list_origin_access_controls()["OriginAccessControlList"][
            "Items"
        ]
        assert (control["SigningBehavior"], control["OriginAccessControlOriginType"]) == ("always", "s3")

    def test_the_web_acl_holds_the_managed_rules_and_the_rate_limits_and_guards_no_api_yet(self, deployment):
        wafv2, outputs = deployment.client("wafv2"), deployment.outputs
        name, acl_id = outputs["WebAclArn"].rsplit("/", 2)[-2:]
        web_acl = wafv2.get_web_acl(Name=name, Id=acl_id, Scope="REGIONAL")["WebACL"]
        assert web_acl["Name"] == outputs["WebAclName"] == "myshop-dev-web"
        assert web_acl["VisibilityConfig"]["MetricName"] == "myshop-dev-web"
        rules = {rule["Name"]: rule for rule in web_acl["Rules"]}
        assert list(rules) == ["aws-common-rule-set", "oversized-body", "aws-known-bad-inputs",
                               "admin-login-rate", "checkout-rate", "payment-rate"]
        assert {rule["VisibilityConfig"]["MetricName"] for rule in rules.values()} == rules.keys()
        limits = {name: int(rule["Statement"]["RateBasedStatement"]["Limit"])
                  for name, rule in rules.items() if "RateBasedStatement" in rule["Statement"]}
        # The template's defaults (deploy.py passes none: an operator's values are kept).
        assert limits == {"admin-login-rate": 20, "checkout-rate": 100, "payment-rate": 100}
        resources = deployment.client("cloudformation").list_stack_resources(StackName=STACK)
        logical = {resource["LogicalResourceId"] for resource in resources["StackResourceSummaries"]}
        assert {"WebAcl", "FilesDistribution", "FilesOriginAccessControl"} <= logical
        # No `zappa deploy` here, so no REST API to guard, unless test_zappa_deploy ran in this
        # process first and left its API in moto (then deploy.py found it, as it should).
        apis = deployment.client("apigateway").get_rest_apis()["items"]
        if any(api["name"] == "myshop-dev" for api in apis):
            assert "WebAclApiStage" in logical
        else:
            assert "WebAclApiStage" not in logical
            assert "No REST API myshop-dev yet" in deployment.runs[0].stdout

    def test_the_shops_file_urls_are_on_the_distribution_and_its_paths_reach_the_objects(self, deployment):
        """The function's environment as deploy.py wrote it: files go to the private buckets, and
        the URLs the shop writes name the distribution, whose behaviours lead each to its object."""
        environment = json.loads(deployment.settings_path.read_text())[STAGE]["aws_environment_variables"]
        script = (
            "import django, json; django.setup()\n"
            "from django.core.files.base import ContentFile\n"
            "from django.core.files.storage import default_storage, storages\n"
            "from django.core.management import call_command\n"
            "call_command('collectstatic', '--noinput', verbosity=0)\n"
            "image = default_storage.save('products/2026/01/01/shirt.png', ContentFile(b'png'))\n"
            "print(json.dumps({'static': storages['staticfiles'].url('css/base.css'),\n"
            "                  'image': default_storage.url(image)}))\n"
        )
        ours = ("DJANGO_", "DATABASE_", "CELERY_", "AWS_")
        env = {
            **{name: value for name, value in os.environ.items() if not name.startswith(ours)},
            **environment,
            "DJANGO_SETTINGS_MODULE": "shop_project.settings.production",
            "AWS_ENDPOINT_URL": deployment.endpoint_url,
            "AWS_DEFAULT_REGION": deployment.region,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            # What the operator adds to the stage's secret (infra/README.md, "Payments").
            "STRIPE_SECRET_KEY": "sk_test_infra",  # pragma: allowlist secret
            "STRIPE_WEBHOOK_SECRET": "whsec_infra",  # pragma: allowlist secret
        }
        result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True,
                                text=True, timeout=DEPLOY_TIMEOUT)
        assert result.returncode == 0, result.stderr
        urls = json.loads(result.stdout.strip().splitlines()[-1])
        outputs, s3 = deployment.outputs, deployment.client("s3")
        config = deployment.client("cloudfront").get_distribution(Id=outputs["FilesDistributionId"])[
            "Distribution"]["DistributionConfig"]
        for kind, url in urls.items():
            parts = urllib.parse.urlsplit(url)
            assert (parts.scheme, parts.netloc) == ("https", outputs["StaticDomainName"]), url
            key = parts.path.lstrip("/")
            origin = routes(config, [key])[key]
            bucket = origin.split(".s3.", 1)[0]
            head = s3.head_object(Bucket=bucket, Key=key)  # the object the distribution would fetch
            # Written private (no ACL grant to anyone but the owner): only the distribution reads.
            grants = s3.get_object_acl(Bucket=bucket, Key=key)["Grants"]
            assert {grant["Grantee"]["Type"] for grant in grants} == {"CanonicalUser"}, grants
            assert head["CacheControl"] == {
                "static": "public, max-age=31536000, immutable",
                "image": "public, max-age=86400",
            }[kind]
        assert re.fullmatch(r"css/base\.[0-9a-f]{12}\.css", urllib.parse.urlsplit(urls["static"]).path[1:])

    def test_role_trusts_what_zappa_needs_and_holds_only_the_managed_policy(self, deployment):
        iam, outputs = deployment.client("iam"), deployment.outputs
        role_name = outputs["LambdaRoleArn"].rsplit("/", 1)[-1]
        role = iam.get_role(RoleName=role_name)["Role"]
        assert role["Arn"] == outputs["LambdaRoleArn"]
        trust = role["AssumeRolePolicyDocument"]
        trust = json.loads(trust) if isinstance(trust, str) else trust
        services = {
            service for statement in trust["Statement"] for service in statement["Principal"]["Service"]
        }
        assert services == {"lambda.amazonaws.com", "apigateway.amazonaws.com", "events.amazonaws.com"}
        attached = iam.list_attached_role_policies(RoleName=role_name)["AttachedPolicies"]
        assert [policy["PolicyArn"] for policy in attached] == [outputs["LambdaPolicyArn"]]
        assert iam.list_role_policies(RoleName=role_name)["PolicyNames"] == []

    def test_policy_names_the_stacks_queue_buckets_and_secret_and_no_wildcard_data(self, deployment):
        iam, outputs = deployment.client("iam"), deployment.outputs
        version = iam.get_policy(PolicyArn=outputs["LambdaPolicyArn"])["Policy"]["DefaultVersionId"]
        document = iam.get_policy_version(PolicyArn=outputs["LambdaPolicyArn"], VersionId=version)
        document = document["PolicyVersion"]["Document"]
        document = json.loads(document) if isinstance(document, str) else document
        statements = {statement["Sid"]: statement for statement in document["Statement"]}
        assert statements["TaskQueue"]["Resource"] == outputs["QueueArn"]
        assert set(statements["TaskQueue"]["Action"]) == {
            "sqs:SendMessage",
            "sqs:ReceiveMessage",
            "sqs:DeleteMessage",
            "sqs:GetQueueAttributes",
            "sqs:ChangeMessageVisibility",
        }
        static, media = (f"arn:aws:s3:::{outputs[name]}" for name in ("StaticBucketName", "MediaBucketName"))
        assert statements["StaticAndMediaObjects"]["Resource"] == [f"{static}/*", f"{media}/*"]
        assert statements["StaticAndMediaListing"]["Resource"] == [static, media]
        assert statements["ReadTheSecretAtColdStart"]["Resource"] == outputs["SecretArn"]
        assert statements["SendEmail"]["Condition"] == {
            "StringEquals": {"ses:FromAddress": "shop@example.com"}
        }
        # Only actions AWS does not scope to a resource may have "*".
        unscoped = {
            action
            for statement in document["Statement"]
            if statement["Resource"] == "*"
            for action in (
                [statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"]
            )
        }
        assert unscoped <= {
            "ec2:CreateNetworkInterface",
            "ec2:DescribeNetworkInterfaces",
            "ec2:DescribeSubnets",
            "ec2:DeleteNetworkInterface",
            "ec2:AssignPrivateIpAddresses",
            "ec2:UnassignPrivateIpAddresses",
            "ses:GetSendQuota",
        }

    def test_secret_holds_a_django_key_and_the_url_of_the_stacks_database(self, deployment):
        secret, outputs = deployment.secret(), deployment.outputs
        assert outputs["SecretArn"].split(":secret:")[1].startswith(f"{SECRET}-")
        assert len(secret["DJANGO_SECRET_KEY"]) == 64 and secret["DJANGO_SECRET_KEY"].isalnum()
        url = urllib.parse.urlsplit(secret["DATABASE_URL"])
        assert url.scheme == "postgres"
        assert (url.hostname, url.port) == (outputs["DatabaseEndpoint"], 5432)
        assert outputs["DatabasePort"] == "5432"
        assert (url.username, url.path) == ("shop", "/shop")
        assert url.password == secret["DATABASE_PASSWORD"] and len(url.password) == 40

    def test_database_is_postgres_in_the_private_subnets_reachable_from_the_function_only(self, deployment):
        rds, ec2, outputs = deployment.client("rds"), deployment.client("ec2"), deployment.outputs
        [database] = [
            instance
            for instance in rds.describe_db_instances()["DBInstances"]
            if instance["Endpoint"]["Address"] == outputs["DatabaseEndpoint"]
        ]
        assert database["Engine"] == "postgres" and database["EngineVersion"].startswith("17.")
        assert database["DBInstanceClass"] == "db.t4g.micro"
        assert database["StorageEncrypted"] is True
        assert database["BackupRetentionPeriod"] == 1  # days, dev (7 in production: TestTemplate)
        assert database["PubliclyAccessible"] is False
        assert database["MultiAZ"] is False
        subnets = [subnet["SubnetIdentifier"] for subnet in database["DBSubnetGroup"]["Subnets"]]
        assert sorted(subnets) == sorted(outputs["LambdaSubnetIds"].split(","))
        [database_group] = ec2.describe_security_groups(
            Filters=[
                {"Name": "vpc-id", "Values": [outputs["VpcId"]]},
                {"Name": "group-name", "Values": ["*Database*"]},
            ]
        )["SecurityGroups"]
        assert [
            (
                rule["IpProtocol"],
                rule["FromPort"],
                rule["ToPort"],
                [pair["GroupId"] for pair in rule["UserIdGroupPairs"]],
                rule["IpRanges"],
            )
            for rule in database_group["IpPermissions"]
        ] == [("tcp", 5432, 5432, [outputs["LambdaSecurityGroupId"]], [])]

    def test_private_subnets_reach_aws_through_nat_and_the_free_s3_endpoint(self, deployment):
        ec2, outputs = deployment.client("ec2"), deployment.outputs
        vpc = [{"Name": "vpc-id", "Values": [outputs["VpcId"]]}]
        # dev: one NAT gateway; production has one per AZ.
        [nat] = ec2.describe_nat_gateways(Filters=vpc)["NatGateways"]
        [endpoint] = ec2.describe_vpc_endpoints(Filters=vpc)["VpcEndpoints"]
        assert (endpoint["ServiceName"], endpoint["VpcEndpointType"]) == (
            f"com.amazonaws.{deployment.region}.s3",
            "Gateway",
        )
        # The private subnets' tables (moto keeps CloudFormation's subnet associations apart
        # from the tables; TestTemplate checks them).
        tables = ec2.describe_route_tables(RouteTableIds=endpoint["RouteTableIds"])["RouteTables"]
        assert len(tables) == 2
        for table in tables:
            [default] = [
                route for route in table["Routes"] if route.get("DestinationCidrBlock") == "0.0.0.0/0"
            ]
            assert default["NatGatewayId"] == nat["NatGatewayId"]

    def test_function_and_waf_log_groups_have_a_retention(self, deployment):
        # Their KmsKeyId moto's CloudFormation drops; TestTemplate checks it.
        logs = deployment.client("logs")
        groups = [group for prefix in ("/aws/lambda/myshop-dev", "aws-waf-logs-myshop-dev")
                  for group in logs.describe_log_groups(logGroupNamePrefix=prefix)["logGroups"]]
        assert [(group["logGroupName"], group["retentionInDays"]) for group in groups] == [
            ("/aws/lambda/myshop-dev", 14), ("aws-waf-logs-myshop-dev", 14)]

    def test_alarms_watch_the_stacks_queues_function_api_and_database_and_notify_the_topic(self, deployment):
        outputs = deployment.outputs
        queue, dead_letters = (outputs[key].rsplit("/", 1)[-1] for key in ("QueueUrl", "DeadLetterQueueUrl"))
        [database] = [
            instance["DBInstanceIdentifier"]
            for instance in deployment.client("rds").describe_db_instances()["DBInstances"]
            if instance["Endpoint"]["Address"] == outputs["DatabaseEndpoint"]
        ]
        function, api = [{"Name": "FunctionName", "Value": "myshop-dev"}], [
            {"Name": "ApiName", "Value": "myshop-dev"},
            {"Name": "Stage", "Value": "dev"},
        ]
        rds = [{"Name": "DBInstanceIdentifier", "Value": database}]
        cloudwatch = deployment.client("cloudwatch")
        alarms = {
            alarm["AlarmName"]: alarm
            for alarm in cloudwatch.describe_alarms(AlarmNamePrefix="myshop-dev-")["MetricAlarms"]
        }
        watched = {
            name.removeprefix("myshop-dev-"): (
                alarm["Namespace"],
                alarm["MetricName"],
                alarm["Dimensions"],
                alarm.get("Statistic") or alarm.get("ExtendedStatistic"),
                alarm["ComparisonOperator"].removesuffix("Threshold"),
                alarm["Threshold"],
                alarm["Period"] * alarm["EvaluationPeriods"],
            )
            for name, alarm in alarms.items()
        }
        at_least = "GreaterThanOrEqualTo"
        assert watched == {
            "dead-letters": ("AWS/SQS", "ApproximateNumberOfMessagesVisible",
                             [{"Name": "QueueName", "Value": dead_letters}], "Maximum", at_least, 1, 300),
            "task-queue-age": ("AWS/SQS", "ApproximateAgeOfOldestMessage",
                               [{"Name": "QueueName", "Value": queue}], "Maximum", "GreaterThan", 600, 300),
            "function-errors": ("AWS/Lambda", "Errors", function, "Sum", at_least, 1, 300),
            "function-throttles": ("AWS/Lambda", "Throttles", function, "Sum", at_least, 1, 300),
            # The parameter's default: 80 % of a quota of 1,000.
            "account-concurrency": ("AWS/Lambda", "ConcurrentExecutions", [], "Maximum", at_least, 800, 180),
            "web-5xx-rate": ("AWS/ApiGateway", "5XXError", api, "Average", "GreaterThan", 0.05, 900),
            "web-latency-p99": ("AWS/ApiGateway", "Latency", api, "p99", "GreaterThan", 3000, 900),
            "database-cpu": ("AWS/RDS", "CPUUtilization", rds, "Average", "GreaterThan", 80, 900),
            "database-free-storage": ("AWS/RDS", "FreeStorageSpace", rds, "Minimum", "LessThan", 2 * 1024**3,
                                      300),
            # 80 % of db.t4g.micro's max_connections (the template's DatabaseConnections).
            "database-connections": ("AWS/RDS", "DatabaseConnections", rds, "Maximum", "GreaterThan", 64,
                                     300),
        }
        for name, alarm in alarms.items():
            assert alarm["AlarmActions"] == alarm["OKActions"] == [outputs["AlarmTopicArn"]], name
            assert alarm["ActionsEnabled"] is True and alarm["TreatMissingData"] == "notBreaching", name

    def test_alarm_topic_e_mails_the_subscriber_given_once_and_kept_by_the_update(self, deployment):
        sns = deployment.client("sns")
        subscriptions = sns.list_subscriptions_by_topic(TopicArn=deployment.outputs["AlarmTopicArn"])
        endpoints = [(s["Protocol"], s["Endpoint"]) for s in subscriptions["Subscriptions"]]
        assert endpoints == [("email", ALARM_EMAIL)]
        parameters = {p["ParameterKey"]: p["ParameterValue"] for p in deployment.stack["Parameters"]}
        assert parameters["AlarmEmail"] == ALARM_EMAIL

    def test_dashboard_charts_every_alarmed_figure_and_the_waf_blocks(self, deployment):
        cloudwatch = deployment.client("cloudwatch")
        body = cloudwatch.get_dashboard(DashboardName=deployment.outputs["DashboardName"])
        charted = set()
        for widget in json.loads(body["DashboardBody"])["widgets"]:
            previous: list = []
            for row in widget["properties"]["metrics"]:
                names = [item for item in row if isinstance(item, str)]
                if names[:1] == ["..."]:  # the previous row's metric, another statistic
                    names = previous
                # "." repeats the previous row's item at that place.
                names = [previous[i] if name == "." else name for i, name in enumerate(names)]
                charted.add((names[0], names[1], tuple(names[2:])))
                previous = names
        alarms = cloudwatch.describe_alarms(AlarmNamePrefix="myshop-dev-")["MetricAlarms"]
        assert len(alarms) == 10
        for alarm in alarms:
            dimensions = tuple(v for d in alarm["Dimensions"] for v in (d["Name"], d["Value"]))
            assert (alarm["Namespace"], alarm["MetricName"], dimensions) in charted, alarm["AlarmName"]
        waf = ("WebACL", "myshop-dev-web", "Rule", "ALL", "Region", deployment.region)
        assert ("AWS/WAFV2", "BlockedRequests", waf) in charted

    def test_zappa_settings_point_at_the_stack_and_keep_everything_else(self, deployment):
        text = deployment.settings_path.read_text()
        settings, before, outputs = json.loads(text), deployment.settings_before, deployment.outputs
        assert text == json.dumps(settings, indent=4, ensure_ascii=False) + "\n"
        dev = settings[STAGE]
        assert dev["role_arn"] == outputs["LambdaRoleArn"]
        assert dev["manage_roles"] is False
        assert dev["s3_bucket"] == outputs["DeployBucketName"]
        assert dev["vpc_config"] == {
            "SubnetIds": outputs["LambdaSubnetIds"].split(","),
            "SecurityGroupIds": [outputs["LambdaSecurityGroupId"]],
        }
        [worker] = [event for event in dev["events"] if event["function"] == WORKER]
        assert worker["event_source"]["arn"] == outputs["QueueArn"]
        assert dev["aws_environment_variables"] == {
            **before[STAGE].get("aws_environment_variables", {}),
            "CELERY_BROKER_URL": "sqs://",
            "CELERY_SQS_QUEUE_URL": outputs["QueueUrl"],
            "DJANGO_STATIC_BUCKET": outputs["StaticBucketName"],
            "DJANGO_MEDIA_BUCKET": outputs["MediaBucketName"],
            "DJANGO_STATIC_DOMAIN": outputs["StaticDomainName"],
            "DJANGO_MEDIA_DOMAIN": outputs["MediaDomainName"],
            "DJANGO_SECRETS_ID": outputs["SecretArn"],
        }
        # The other events, every other key of the stage and every other stage: untouched.
        assert [event for event in dev["events"] if event["function"] != WORKER] == [
            event for event in before[STAGE].get("events", []) if event["function"] != WORKER
        ]
        assert {key: value for key, value in dev.items() if key not in WRITTEN_KEYS} == {
            key: value for key, value in before[STAGE].items() if key not in WRITTEN_KEYS
        }
        assert {name: value for name, value in settings.items() if name != STAGE} == {
            name: value for name, value in before.items() if name != STAGE
        }


# The template ---------------------------------------------------------------------------------

BUCKETS = ("StaticBucket", "MediaBucket", "DeployBucket", "LogBucket")


class TestTemplate:
    @needs_cfn_lint
    def test_cfn_lint_finds_nothing_not_even_informational(self):
        # The console script next to this interpreter: cfn-lint has no `python -m` entry.
        cfn_lint = Path(sys.executable).parent / "cfn-lint"
        command = [str(cfn_lint)] if cfn_lint.exists() else [shutil.which("cfn-lint") or "cfn-lint"]
        result = subprocess.run(
            [*command, "--include-checks", "I", "--", str(TEMPLATE)],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert (result.returncode, result.stdout + result.stderr) == (0, "")

    def test_fits_in_a_template_body(self):
        assert len(deploy.template_body(TEMPLATE.read_text()).encode()) <= deploy.TEMPLATE_BODY_LIMIT

    @needs_cfn_lint
    def test_the_body_sent_is_the_template_cfn_lint_reads(self):
        # Short forms in their long form, every value kept: only the comments are left out.
        sent = json.loads(deploy.template_body(TEMPLATE.read_text()))
        assert sent == json.loads(json.dumps(load_template()))

    @needs_cfn_lint
    def test_queue_visibility_is_six_times_every_allowed_function_timeout(self):
        template = load_template()
        allowed = template["Parameters"]["FunctionTimeoutSeconds"]["AllowedValues"]
        assert template["Parameters"]["FunctionTimeoutSeconds"]["Default"] == str(FUNCTION_TIMEOUT)
        visibility = template["Mappings"]["QueueVisibility"]
        assert {key: value["Seconds"] for key, value in visibility.items()} == {
            timeout: 6 * int(timeout) for timeout in allowed
        }

    @needs_cfn_lint
    def test_every_bucket_blocks_public_access_and_only_the_log_bucket_takes_acls(self):
        resources = load_template()["Resources"]
        for name in BUCKETS:
            properties = resources[name]["Properties"]
            assert set(properties["PublicAccessBlockConfiguration"].values()) == {True}, name
            assert len(properties["PublicAccessBlockConfiguration"]) == 4, name
            # CloudFront's standard logs arrive with an ACL grant: the log bucket needs ACLs on.
            ownership = "BucketOwnerPreferred" if name == "LogBucket" else "BucketOwnerEnforced"
            assert properties["OwnershipControls"]["Rules"] == [{"ObjectOwnership": ownership}], name
            assert properties["BucketEncryption"]["ServerSideEncryptionConfiguration"] == [
                {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
            ], name

    @needs_cfn_lint
    def test_only_the_distribution_reads_static_files_and_product_images(self):
        resources = load_template()["Resources"]
        distribution = {"Fn::Sub": "arn:${AWS::Partition}:cloudfront::${AWS::AccountId}:distribution/"
                                   "${FilesDistribution}"}
        allowed = {}
        for name in BUCKETS:
            statements = resources[f"{name}Policy"]["Properties"]["PolicyDocument"]["Statement"]
            for statement in statements:
                if statement["Effect"] == "Allow":
                    assert statement["Principal"] != "*"
                    allowed[name] = (statement["Principal"], statement["Action"], statement["Resource"],
                                     statement["Condition"])
            # Every bucket refuses plain HTTP, to anyone.
            [deny] = [statement for statement in statements if statement["Effect"] == "Deny"]
            assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        cloudfront = {"Service": "cloudfront.amazonaws.com"}
        assert allowed == {
            "StaticBucket": (cloudfront, "s3:GetObject", {"Fn::Sub": "${StaticBucket.Arn}/*"},
                             {"StringEquals": {"AWS:SourceArn": distribution}}),
            "MediaBucket": (cloudfront, "s3:GetObject", {"Fn::Sub": "${MediaBucket.Arn}/products/*"},
                            {"StringEquals": {"AWS:SourceArn": distribution}}),
            "LogBucket": ({"Service": "logging.s3.amazonaws.com"}, "s3:PutObject",
                          {"Fn::Sub": "${LogBucket.Arn}/s3/*"},
                          {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}),
        }

    @needs_cfn_lint
    def test_buckets_keep_versions_that_expire_and_log_access_to_the_log_bucket(self):
        resources = load_template()["Resources"]
        for name, days in (("StaticBucket", 30), ("MediaBucket", 30), ("DeployBucket", 7), ("LogBucket", 1)):
            properties = resources[name]["Properties"]
            assert properties["VersioningConfiguration"] == {"Status": "Enabled"}, name
            expiring = [rule["NoncurrentVersionExpiration"]["NoncurrentDays"]
                        for rule in properties["LifecycleConfiguration"]["Rules"]
                        if "NoncurrentVersionExpiration" in rule and "Prefix" not in rule]
            assert expiring == [days], name
            if name != "LogBucket":
                logging = properties["LoggingConfiguration"]
                assert logging["DestinationBucketName"] == {"Ref": "LogBucket"}, name
                assert logging["LogFilePrefix"].startswith("s3/"), name

    @needs_cfn_lint
    def test_the_distribution_signs_for_the_private_buckets_and_caches_what_the_objects_say(self):
        resources = load_template()["Resources"]
        config = resources["FilesDistribution"]["Properties"]["DistributionConfig"]
        for origin in config["Origins"]:
            assert origin["OriginAccessControlId"] == {"Fn::GetAtt": ["FilesOriginAccessControl", "Id"]}
            assert origin["S3OriginConfig"] == {"OriginAccessIdentity": ""}  # OAC, not the legacy OAI
        assert resources["FilesOriginAccessControl"]["Properties"]["OriginAccessControlConfig"][
            "SigningBehavior"] == "always"
        for behaviour in (config["DefaultCacheBehavior"], *config["CacheBehaviors"]):
            # Managed-CachingOptimized: the objects' own Cache-Control (a year for hashed static
            # files, a day for images: production.py), gzip and brotli; nothing of the viewer's.
            assert behaviour["CachePolicyId"] == "658327ea-f89d-4fab-a63d-7e88639e58f6"
            assert behaviour["Compress"] is True
        assert config["Logging"]["Bucket"] == {"Fn::GetAtt": ["LogBucket", "DomainName"]}

    @needs_cfn_lint
    def test_rate_limits_cover_admin_login_checkout_and_payment_posts_but_not_the_stripe_webhook(self):
        template = load_template()
        rules = {rule["Name"]: rule for rule in template["Resources"]["WebAcl"]["Properties"]["Rules"]}

        def matches(statement):
            """What a statement matches, as (negated, field, position, text) tuples."""
            if "AndStatement" in statement:
                return [m for s in statement["AndStatement"]["Statements"] for m in matches(s)]
            if "NotStatement" in statement:
                inner = matches(statement["NotStatement"]["Statement"])
                return [(not negated, *rest) for negated, *rest in inner]
            if "OrStatement" in statement:
                return [m for s in statement["OrStatement"]["Statements"] for m in matches(s)]
            if "LabelMatchStatement" in statement:
                return [(False, "label", "EXACTLY", statement["LabelMatchStatement"]["Key"])]
            byte = statement["ByteMatchStatement"]
            field = next(iter(byte["FieldToMatch"]))
            return [(False, field, byte["PositionalConstraint"], byte["SearchString"])]

        post = (False, "Method", "EXACTLY", "POST")
        expected = {
            "admin-login-rate": ("AdminLoginRateLimit",
                                 [post, (False, "UriPath", "ENDS_WITH", "/admin/login/")]),
            "checkout-rate": ("CheckoutRateLimit",
                              [post, (False, "UriPath", "ENDS_WITH", "/orders/create/")]),
            "payment-rate": ("PaymentRateLimit", [post, (False, "UriPath", "CONTAINS", "/payment/"),
                                                  (True, "UriPath", "CONTAINS", "/payment/webhook/")]),
        }
        for name, (parameter, scope) in expected.items():
            rate = rules[name]["Statement"]["RateBasedStatement"]
            assert (rate["Limit"], rate["AggregateKeyType"], rules[name]["Action"]) == (
                {"Ref": parameter}, "IP", {"Block": {}})
            assert matches(rate["ScopeDownStatement"]) == scope
            assert template["Parameters"][parameter]["Type"] == "Number"
        # The common rule set's 8 KB body limit blocks, except Stripe's events and admin uploads.
        managed = rules["aws-common-rule-set"]["Statement"]["ManagedRuleGroupStatement"]
        [override] = managed["RuleActionOverrides"]
        assert override == {"Name": "SizeRestrictions_BODY", "ActionToUse": {"Count": {}}}
        assert matches(rules["oversized-body"]["Statement"]) == [
            (False, "label", "EXACTLY", "awswaf:managed:aws:core-rule-set:SizeRestrictions_Body"),
            (True, "UriPath", "CONTAINS", "/payment/webhook/"),
            (True, "UriPath", "CONTAINS", "/admin/"),
        ]

    @needs_cfn_lint
    def test_the_web_acl_guards_zappas_stage_once_its_api_is_known(self):
        template = load_template()
        association = template["Resources"]["WebAclApiStage"]
        assert association["Condition"] == "HasRestApi"
        assert association["Properties"]["ResourceArn"] == {
            "Fn::Sub": "arn:${AWS::Partition}:apigateway:${AWS::Region}::/restapis/${RestApiId}"
                       "/stages/${Stage}"
        }
        web_acl = template["Resources"]["WebAcl"]["Properties"]
        assert (web_acl["Name"], web_acl["Scope"]) == ({"Fn::Sub": "${ProjectName}-${Stage}-web"}, "REGIONAL")
        logging = template["Resources"]["WebAclLogging"]["Properties"]
        assert logging["LoggingFilter"]["DefaultBehavior"] == "DROP"
        assert {"SingleHeader": {"Name": "cookie"}} in logging["RedactedFields"]

    @needs_cfn_lint
    def test_the_site_domain_needs_both_the_name_and_a_us_east_1_certificate(self):
        template = load_template()
        assert template["Conditions"]["HasSiteDomain"] == {"Fn::And": [
            {"Fn::Not": [{"Fn::Equals": [{"Ref": "SiteDomainName"}, ""]}]},
            {"Fn::Not": [{"Fn::Equals": [{"Ref": "SiteCertificateArn"}, ""]}]},
        ]}
        assert ":acm:us-east-1:" in template["Parameters"]["SiteCertificateArn"]["AllowedPattern"]
        domain = template["Resources"]["SiteDomain"]
        assert domain["Condition"] == "HasSiteDomain"
        assert domain["Properties"]["SecurityPolicy"] == "TLS_1_2"
        assert domain["Properties"]["EndpointConfiguration"] == {"Types": ["EDGE"]}
        mapping = template["Resources"]["SiteBasePathMapping"]
        assert mapping["Condition"] == "HasSiteDomainAndRestApi"
        assert "BasePath" not in mapping["Properties"]  # the stage is not in the shop's URLs
        assert template["Outputs"]["SiteDomainTarget"]["Condition"] == "HasSiteDomain"

    @needs_cfn_lint
    def test_queues_and_log_groups_use_the_stacks_key_which_the_function_uses_through_sqs_only(self):
        resources = load_template()["Resources"]
        for name in ("TaskQueue", "DeadLetterQueue"):
            assert resources[name]["Properties"]["KmsMasterKeyId"] == {"Ref": "DataKey"}
            assert "SqsManagedSseEnabled" not in resources[name]["Properties"]
        for name in ("FunctionLogGroup", "WebAclLogGroup"):
            assert resources[name]["Properties"]["KmsKeyId"] == {"Fn::GetAtt": ["DataKey", "Arn"]}
        assert resources["DataKey"]["Properties"]["EnableKeyRotation"] is True
        document = resources["LambdaPolicy"]["Properties"]["PolicyDocument"]
        statements = {statement["Sid"]: statement for statement in document["Statement"]}
        assert statements["TaskQueueKey"] == {
            "Sid": "TaskQueueKey", "Effect": "Allow", "Action": ["kms:GenerateDataKey", "kms:Decrypt"],
            "Resource": {"Fn::GetAtt": ["DataKey", "Arn"]},
            "Condition": {"StringEquals": {"kms:ViaService": {"Fn::Sub": "sqs.${AWS::Region}.amazonaws.com"}}
                          },
        }

    @needs_cfn_lint
    def test_the_database_is_encrypted_backed_up_monitored_and_protected_in_production(self):
        template = load_template()
        database = template["Resources"]["Database"]["Properties"]
        assert database["StorageEncrypted"] is True
        assert database["MonitoringInterval"] == 60
        assert database["MonitoringRoleArn"] == {"Fn::GetAtt": ["DatabaseMonitoringRole", "Arn"]}
        role = template["Resources"]["DatabaseMonitoringRole"]["Properties"]
        assert role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {
            "Service": "monitoring.rds.amazonaws.com"}
        stages = template["Mappings"]["StageConfig"]
        assert [stages[s]["DatabaseDeletionProtection"] for s in ("dev", "production")] == ["false", "true"]
        assert all(stages[s]["DatabaseBackupDays"] >= 1 for s in stages)

    def test_checkov_finds_nothing_and_every_skip_says_why(self):
        subprocess.run(["make", "-s", "checkov-venv"], cwd=ROOT, check=True, capture_output=True, timeout=600)
        result = subprocess.run(
            [str(ROOT / ".venv-checkov" / "bin" / "checkov"), "--config-file", "infra/checkov.yaml",
             "--output", "json"],
            cwd=ROOT, capture_output=True, text=True, timeout=300,
            env={**os.environ, "CKV_SKIP_PACKAGE_UPDATE_CHECK": "true", "BC_SKIP_MAPPING": "TRUE"},
        )
        report = json.loads(result.stdout)
        failed = [(c["check_id"], c["resource"]) for c in report["results"]["failed_checks"]]
        assert (result.returncode, failed) == (0, [])
        assert report["summary"]["passed"] >= 80
        skipped = {(c["check_id"], c["resource"]): c["check_result"].get("suppress_comment", "")
                   for c in report["results"]["skipped_checks"]}
        # A new skip is a decision: add it here, with its reason on the resource.
        assert set(skipped) == {
            ("CKV_AWS_157", "AWS::RDS::DBInstance.Database"),  # Multi-AZ in production only
            ("CKV_AWS_161", "AWS::RDS::DBInstance.Database"),  # password, not IAM tokens
            ("CKV_AWS_111", "AWS::IAM::ManagedPolicy.LambdaPolicy"),  # the VPC ENI actions on *
            ("CKV_AWS_18", "AWS::S3::Bucket.LogBucket"),  # the log bucket logging itself
            ("CKV_AWS_68", "AWS::CloudFront::Distribution.FilesDistribution"),  # WAF at the API instead
            ("CKV_AWS_174", "AWS::CloudFront::Distribution.FilesDistribution"),  # default certificate
        }
        assert all(len(reason.strip()) > 20 for reason in skipped.values()), skipped

    @needs_cfn_lint
    def test_package_lifecycle_spares_the_slim_handler_archive(self):
        rules = load_template()["Resources"]["DeployBucket"]["Properties"]["LifecycleConfiguration"]["Rules"]
        prefixes = [rule["Prefix"]["Fn::Sub"] for rule in rules if "ExpirationInDays" in rule]
        archive = "dev_myshop_current_project.tar.gz"  # Zappa's <stage>_<project>_current_project
        expand = {"${ProjectName}": "myshop", "${Stage}": "dev"}
        for prefix in prefixes:
            for variable, value in expand.items():
                prefix = prefix.replace(variable, value)
            assert not archive.startswith(prefix)
            assert f"{prefix}1700000000.zip".startswith(("myshop-dev-", "handler_myshop-dev-"))

    @needs_cfn_lint
    def test_database_egress_is_closed_and_the_function_reaches_it_on_5432_only(self):
        resources = load_template()["Resources"]
        assert resources["DatabaseSecurityGroup"]["Properties"]["SecurityGroupEgress"] == [
            {
                "Description": "nothing",
                "IpProtocol": "icmp",
                "FromPort": 252,
                "ToPort": 86,
                "CidrIp": "255.255.255.255/32",
            }
        ]
        egress = resources["LambdaSecurityGroup"]["Properties"]["SecurityGroupEgress"]
        assert sorted(
            (rule["FromPort"], rule.get("CidrIp"), str(rule.get("DestinationSecurityGroupId")))
            for rule in egress
        ) == [
            (443, "0.0.0.0/0", "None"),
            (5432, None, str({"Fn::GetAtt": ["DatabaseSecurityGroup", "GroupId"]})),
        ]

    @needs_cfn_lint
    def test_each_private_subnet_routes_through_a_nat_gateway_and_the_s3_endpoint(self):
        resources = load_template()["Resources"]
        for zone in ("A", "B"):
            association = resources[f"PrivateSubnet{zone}RouteTable"]["Properties"]
            assert association == {
                "SubnetId": {"Ref": f"PrivateSubnet{zone}"},
                "RouteTableId": {"Ref": f"PrivateRouteTable{zone}"},
            }
            assert {"Ref": f"PrivateRouteTable{zone}"} in resources["S3GatewayEndpoint"]["Properties"][
                "RouteTableIds"
            ]
        assert resources["PrivateDefaultRouteA"]["Properties"]["NatGatewayId"] == {"Ref": "NatGatewayA"}
        # production: a NAT gateway per AZ; dev: both AZs share A's.
        assert resources["PrivateDefaultRouteB"]["Properties"]["NatGatewayId"] == {
            "Fn::If": ["IsProduction", {"Ref": "NatGatewayB"}, {"Ref": "NatGatewayA"}]
        }
        assert resources["NatGatewayB"]["Condition"] == "IsProduction"

    @needs_cfn_lint
    def test_no_password_in_the_template(self):
        template = load_template()
        password = template["Resources"]["Database"]["Properties"]["MasterUserPassword"]
        assert password == {
            "Fn::Sub": "{{resolve:secretsmanager:${SecretArn}:SecretString:DATABASE_PASSWORD}}"
        }
        assert "Default" not in template["Parameters"]["SecretArn"]


    @needs_cfn_lint
    def test_the_functions_log_group_is_zappas_and_kept_per_stage(self):
        template = load_template()
        group = template["Resources"]["FunctionLogGroup"]["Properties"]
        # Lambda writes to /aws/lambda/<function>, and Zappa names the function <project>-<stage>.
        assert group["LogGroupName"] == {"Fn::Sub": "/aws/lambda/${ProjectName}-${Stage}"}
        retention = {"Fn::FindInMap": ["StageConfig", {"Ref": "Stage"}, "LogRetentionDays"]}
        assert group["RetentionInDays"] == retention
        stages = template["Mappings"]["StageConfig"]
        days = {stage: config["LogRetentionDays"] for stage, config in stages.items()}
        assert days == {"dev": 14, "production": 90}


class TestAlarmEmailParameter:
    STACK = {"Parameters": [{"ParameterKey": "AlarmEmail", "ParameterValue": "ops@example.com"}]}

    def test_a_given_address_is_used_and_an_empty_one_unsubscribes(self):
        given = "new@example.com"
        assert deploy.alarm_email_parameter(self.STACK, given) == {"AlarmEmail": given}
        assert deploy.alarm_email_parameter(self.STACK, "") == {"AlarmEmail": ""}

    def test_none_given_keeps_the_stacks_or_leaves_the_default(self):
        assert deploy.alarm_email_parameter(self.STACK, None) == {"AlarmEmail": "ops@example.com"}
        assert deploy.alarm_email_parameter({"Parameters": []}, None) == {}
        assert deploy.alarm_email_parameter(None, None) == {}


# zappa_settings.json, without AWS ------------------------------------------------------------


class TestZappaSettingsWithOutputs:
    def test_a_stage_that_inherits_gets_complete_copies_with_its_own_values(self):
        updated = deploy.zappa_settings_with_outputs(SAMPLE_SETTINGS, "production", FAKE_OUTPUTS)
        production = updated["production"]
        assert updated["dev"] == SAMPLE_SETTINGS["dev"]
        # Zappa's extends replaces a key whole: dev's other variables and events come along.
        assert (
            production["aws_environment_variables"]["DJANGO_ALLOWED_HOSTS"]
            == ".execute-api.eu-west-1.amazonaws.com"
        )
        assert production["aws_environment_variables"]["CELERY_SQS_QUEUE_URL"] == FAKE_OUTPUTS["QueueUrl"]
        assert [event["function"] for event in production["events"]] == [
            WORKER,
            "apps.orders.lambda_handlers.confirmations_sweep_handler",
        ]
        assert production["events"][0]["event_source"] == {"arn": FAKE_OUTPUTS["QueueArn"], "batch_size": 10}
        assert (production["extends"], production["memory_size"]) == ("dev", 2048)
        assert SAMPLE_SETTINGS["dev"]["events"][0]["event_source"]["arn"] == "arn:aws:sqs:placeholder"

    def test_a_missing_worker_event_is_added_so_the_queue_is_drained(self):
        settings = copy.deepcopy(SAMPLE_SETTINGS)
        del settings["dev"]["events"]
        [worker] = deploy.zappa_settings_with_outputs(settings, "dev", FAKE_OUTPUTS)["dev"]["events"]
        assert worker == {
            "function": WORKER,
            "event_source": {"batch_size": 10, "enabled": True, "arn": FAKE_OUTPUTS["QueueArn"]},
        }

    def test_stack_parameters_come_from_the_stage(self):
        resolved = deploy.stage_settings(SAMPLE_SETTINGS, "production")
        assert deploy.stack_parameters("production", resolved, FAKE_OUTPUTS["SecretArn"]) == {
            "Stage": "production",
            "ProjectName": "myshop",
            "SecretArn": FAKE_OUTPUTS["SecretArn"],
            "FunctionTimeoutSeconds": str(FUNCTION_TIMEOUT),
            "FromEmailAddress": "shop@example.com",
            "RestApiId": "",
            "SiteDomainName": "",
            "SiteCertificateArn": "",
        }

    def test_zappas_domain_keys_become_the_sites_domain_parameters(self):
        settings = copy.deepcopy(SAMPLE_SETTINGS)
        certificate = "arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-4e5f-6789-abcd-ef0123456789"
        settings["production"].update(domain="shop.example.com", certificate_arn=certificate)
        resolved = deploy.stage_settings(settings, "production")
        parameters = deploy.stack_parameters("production", resolved, FAKE_OUTPUTS["SecretArn"], "apiid12345")
        assert (parameters["SiteDomainName"], parameters["SiteCertificateArn"], parameters["RestApiId"]) == (
            "shop.example.com", certificate, "apiid12345")

    @pytest.mark.skipif(not REPO_SETTINGS.exists(), reason="the repository has no zappa_settings.json yet")
    @pytest.mark.parametrize("stage", ["dev", "production"])
    def test_the_repositorys_settings_take_the_outputs(self, stage):
        settings = json.loads(REPO_SETTINGS.read_text())
        updated = deploy.zappa_settings_with_outputs(settings, stage, FAKE_OUTPUTS)
        section = updated[stage]
        assert section["role_arn"] == FAKE_OUTPUTS["LambdaRoleArn"]
        assert section["aws_environment_variables"]["DJANGO_SECRETS_ID"] == FAKE_OUTPUTS["SecretArn"]
        [worker] = [event for event in section["events"] if event["function"] == WORKER]
        assert worker["event_source"]["arn"] == FAKE_OUTPUTS["QueueArn"]
        assert {key: value for key, value in section.items() if key not in WRITTEN_KEYS} == {
            key: value for key, value in settings[stage].items() if key not in WRITTEN_KEYS
        }
        assert {name: value for name, value in updated.items() if name != stage} == {
            name: value for name, value in settings.items() if name != stage
        }


# Database connections per stage -----------------------------------------------------------------

# What the database keeps besides the function: RDS's reserved superuser slots
# (superuser_reserved_connections 3, rds.rds_superuser_reserved_connections 2) and an operator's
# psql session or two.
RESERVED_CONNECTIONS = 5
OPERATOR_CONNECTIONS = 5


@pytest.mark.skipif(not REPO_SETTINGS.exists(), reason="the repository has no zappa_settings.json yet")
class TestConcurrencyFitsTheDatabase:
    """Every running container of the function holds at most one connection (CONN_MAX_AGE), and
    Lambda starts no container beyond the reserved concurrency: lambda_concurrency bounds the
    connections of web, worker and sweep together (they are one function). The worker's SQS
    maximum concurrency bounds its share, so the web keeps the rest."""

    @pytest.fixture
    def template(self):
        if not cfn_lint_installed():
            pytest.skip("cfn-lint is not installed")
        return load_template()

    @pytest.mark.parametrize("stage", ["dev", "production"])
    def test_function_concurrency_and_headroom_stay_under_the_connections_alarm(self, template, stage):
        resolved = deploy.stage_settings(json.loads(REPO_SETTINGS.read_text()), stage)
        instance_class = template["Mappings"]["StageConfig"][stage]["DatabaseInstanceClass"]
        connections = template["Mappings"]["DatabaseConnections"][instance_class]
        concurrency = resolved["lambda_concurrency"]
        assert isinstance(concurrency, int) and concurrency > 0
        assert concurrency + RESERVED_CONNECTIONS + OPERATOR_CONNECTIONS <= connections["AlarmAt"], (
            f"{stage}: {concurrency} containers + {RESERVED_CONNECTIONS + OPERATOR_CONNECTIONS} reserved "
            f"> the alarm at {connections['AlarmAt']} of {instance_class}'s {connections['Max']}"
        )

    @pytest.mark.parametrize("stage", ["dev", "production"])
    def test_worker_takes_a_bounded_share_and_leaves_the_web_most(self, stage):
        resolved = deploy.stage_settings(json.loads(REPO_SETTINGS.read_text()), stage)
        [worker] = [event for event in resolved["events"] if event["function"] == WORKER]
        cap = worker["event_source"]["maximum_concurrency"]
        # 2 is the least SQS's ScalingConfig takes; the web keeps at least 3/4 of the function.
        assert 2 <= cap <= resolved["lambda_concurrency"] // 4, (stage, cap)
        # A task takes ~9 ms without SES (bench/results.md) and ~0.1 s with it: ten take about
        # 1 s of the 30 s invocation, and past its time left the handler defers the rest
        # (infra/README.md, "Worker batch size and concurrency").
        assert worker["event_source"]["batch_size"] == 10

    def test_connections_alarm_is_at_four_fifths_of_each_class_and_every_stage_class_is_known(self, template):
        mapping = template["Mappings"]["DatabaseConnections"]
        for instance_class, connections in mapping.items():
            assert connections["AlarmAt"] == connections["Max"] * 4 // 5, instance_class
        for stage, config in template["Mappings"]["StageConfig"].items():
            assert config["DatabaseInstanceClass"] in mapping, stage


# Failures are one message ---------------------------------------------------------------------


class TestDeployErrors:
    def _environment(self, endpoint_url: str) -> dict:
        return {
            **os.environ,
            "AWS_ENDPOINT_URL": endpoint_url,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_MAX_ATTEMPTS": "1",
        }

    def test_an_endpoint_that_does_not_answer_is_one_message_not_a_traceback(self, tmp_path):
        settings = tmp_path / "zappa_settings.json"
        settings.write_text(json.dumps(SAMPLE_SETTINGS))
        result = run_deploy(settings, env=self._environment(f"http://127.0.0.1:{closed_port()}"))
        assert result.returncode == 1
        assert result.stderr.startswith("deploy.py: Could not connect to the endpoint URL")
        assert "Traceback" not in result.stderr
        assert settings.read_text() == json.dumps(SAMPLE_SETTINGS)

    def test_a_missing_stage_is_named_before_anything_reaches_aws(self, tmp_path):
        settings = tmp_path / "zappa_settings.json"
        settings.write_text(json.dumps({"production": {"extends": "dev"}}))
        result = run_deploy(settings, env=self._environment(f"http://127.0.0.1:{closed_port()}"))
        assert (result.returncode, result.stderr) == (1, "deploy.py: zappa settings have no stage 'dev'\n")

    @pytest.mark.parametrize("secret", [None, {"DJANGO_SECRET_KEY": "k"}], ids=["no secret", "no password"])
    def test_a_database_whose_password_is_lost_is_not_given_a_new_one(self, secret):
        # Generating one would only lock the function out: RDS keeps the password it was made with.
        class SecretsManager:
            def describe_secret(self, SecretId):
                if secret is None:
                    error = {"Error": {"Code": "ResourceNotFoundException", "Message": "gone"}}
                    raise ClientError(error, "DescribeSecret")
                return {"ARN": "arn:secret"}

            def get_secret_value(self, SecretId):
                return {"SecretString": json.dumps(secret)}

        with pytest.raises(deploy.DeployError, match="put it back .* as DATABASE_PASSWORD"):
            deploy.ensure_secret(SecretsManager(), STAGE, STACK, database_exists=True, tags=[])

    def test_a_missing_settings_file_says_how_to_name_it(self, tmp_path):
        result = run_deploy(tmp_path / "nowhere.json", env=self._environment("http://127.0.0.1:9"))
        assert result.returncode == 1
        assert "nowhere.json not found (give its path with --zappa-settings PATH)" in result.stderr
