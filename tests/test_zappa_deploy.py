"""`make infra STAGE=dev`, `zappa deploy dev` and `zappa update dev` against a moto server.

What runs is what an operator runs: infra/deploy.py deploys the stack and writes its outputs
into zappa_settings.json, then the deploy venv's `zappa` (requirements-deploy.txt) packages the
project and deploys it, then, after a code change, updates it. All of it in a copy of the repo
(Zappa writes its zip and template into the working directory), with boto3's own
AWS_ENDPOINT_URL pointing at a moto server on loopback.

Where moto differs from AWS (tests/support/zappa.py has the details):
- moto has no ListFunctionUrlConfigs, which `zappa update` always calls: the server answers that
  one route with no URLs (ListFunctionUrlConfigsRoute), and nothing else.
- "touch" (Zappa's GET of the new API's https://<id>.execute-api... URL, which does not exist
  for a moto API) is turned off in the copy's settings only.
- moto answers AddPermission with 200 where AWS answers 201; Zappa then logs "Problem creating
  permission to invoke Lambda function" although the permission is there (asserted below).
- moto's ListEventSourceMappings matches FunctionName literally against what the mapping was
  created with (Zappa creates it with the function's ARN; AWS takes the name as well), so the
  "post" callback (infra/zappa_callbacks.py) lists by the function's ARN, as Zappa does.
- moto leaves LastModified alone on UpdateFunctionCode; the new code shows in CodeSha256.
- moto's CloudFormation lacks CloudFront and WAFv2: tests/support/moto_edge.py adds them.

`make infra` runs again after `zappa deploy`, as infra/README.md says: it finds the REST API
Zappa made and puts the web ACL on its stage.
"""

from __future__ import annotations

import fnmatch
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import boto3
import pytest

from devtools.sqs import MotoServer
from devtools.zappa import STAGE, CommandFailed, copy_repo, run_command, run_zappa, zappa_environment
from tests.support import moto_edge
from tests.support.zappa import ListFunctionUrlConfigsRoute, moto_server_for_zappa

FUNCTION = "myshop-dev"
WORKER = "shop_project.lambda_worker.handler"
SWEEP = "apps.orders.lambda_handlers.confirmations_sweep_handler"
EXPIRY_SWEEP = "apps.payment.lambda_handlers.payment_expiry_sweep_handler"
# How infra/deploy.py tags its stack; Zappa tags its own (the API) with ZappaProject.
INFRA_TAGS = {"Project": "myshop", "Stage": STAGE}

# moto's CloudFormation skips AWS::S3::BucketPolicy with a warning; that is for the infra tests.
pytestmark = pytest.mark.filterwarnings("ignore:Tried to parse AWS:UserWarning")


@dataclass
class Deployment:
    server: MotoServer
    function_urls_route: ListFunctionUrlConfigsRoute
    settings: dict  # the dev stage of zappa_settings.json, as infra/deploy.py left it
    infra_stack: str
    outputs: dict[str, str]  # the infra stack's outputs
    after_deploy: dict = field(default_factory=dict)
    after_update: dict = field(default_factory=dict)
    stage_after_infra_again: dict = field(default_factory=dict)  # the API's stage, as moto has it
    output: dict[str, str] = field(default_factory=dict)  # each command's stdout and stderr
    seconds: dict[str, float] = field(default_factory=dict)
    project: Path | None = None  # the copy of the repo the commands ran in
    env: dict[str, str] = field(default_factory=dict)  # and their environment

    def client(self, service: str):
        return _client(self.server, service)

    def snapshot(self) -> dict:
        """What `zappa update` could change: the function and the queue's mappings."""
        lambda_ = self.client("lambda")
        return {
            "function": lambda_.get_function(FunctionName=FUNCTION)["Configuration"],
            "mappings": lambda_.list_event_source_mappings(
                EventSourceArn=self.outputs["QueueArn"])["EventSourceMappings"],
        }


@pytest.fixture(scope="module")
def deployment(deploy_venv, tmp_path_factory):
    """Infra, `zappa deploy dev`, infra again, a code change, `zappa update dev`: once for the module."""
    moto_edge.install()
    with moto_server_for_zappa() as (server, route):
        project = copy_repo(tmp_path_factory.mktemp("zappa-deploy") / "project")
        settings_path = project / "zappa_settings.json"
        env = zappa_environment(deploy_venv, server)
        seconds, output = {}, {}

        # What `make infra STAGE=dev` runs, on the copy's settings, with the deploy venv's boto3.
        infra = [str(deploy_venv / "bin" / "python"), "infra/deploy.py", "--stage", STAGE,
                 "--zappa-settings", str(settings_path)]
        started = time.monotonic()
        output["infra"] = run_command(infra, cwd=project, env=env, timeout=300)
        seconds["infra"] = time.monotonic() - started

        settings = json.loads(settings_path.read_text())
        # The test's only change to the settings: no GET of the (nonexistent) API URL.
        settings[STAGE]["touch"] = False
        settings_path.write_text(json.dumps(settings, indent=4))

        infra_stack = _infra_stack(server)
        deployment = Deployment(
            server=server, function_urls_route=route, settings=settings[STAGE],
            infra_stack=infra_stack["StackName"], outputs=_outputs(infra_stack),
            output=output, seconds=seconds, project=project, env=env,
        )

        started = time.monotonic()
        output["deploy"] = run_zappa(deploy_venv, "deploy", STAGE, cwd=project, env=env)
        seconds["deploy"] = time.monotonic() - started
        deployment.after_deploy = deployment.snapshot()

        # Now that the API exists, the second `make infra` guards its stage with the web ACL.
        started = time.monotonic()
        output["infra again"] = run_command(infra, cwd=project, env=env, timeout=300)
        seconds["infra again"] = time.monotonic() - started
        deployment.outputs = _outputs(_infra_stack(server))
        deployment.settings = json.loads(settings_path.read_text())[STAGE]
        deployment.stage_after_infra_again = _api_stage(server)

        # A code change, so that the update has new code to ship.
        (project / "shop_project" / "release_marker.py").write_text('"""Written by test_zappa_deploy."""\n')
        started = time.monotonic()
        output["update"] = run_zappa(deploy_venv, "update", STAGE, cwd=project, env=env)
        seconds["update"] = time.monotonic() - started
        deployment.after_update = deployment.snapshot()

        print("seconds: " + ", ".join(f"{step} {value:.1f}" for step, value in seconds.items()))
        yield deployment


def _client(server: MotoServer, service: str):
    return boto3.client(
        service, endpoint_url=server.endpoint_url, region_name=server.region,
        aws_access_key_id="testing", aws_secret_access_key="testing",
    )


def _infra_stack(server: MotoServer) -> dict:
    stacks = [
        stack for stack in _client(server, "cloudformation").describe_stacks()["Stacks"]
        if INFRA_TAGS.items() <= {tag["Key"]: tag["Value"] for tag in stack.get("Tags", [])}.items()
    ]
    assert len(stacks) == 1, f"expected one stack tagged {INFRA_TAGS}: {[s['StackName'] for s in stacks]}"
    return stacks[0]


def _api_stage(server: MotoServer) -> dict:
    apigateway = _client(server, "apigateway")
    [api] = [api for api in apigateway.get_rest_apis()["items"] if api["name"] == FUNCTION]
    return apigateway.get_stage(restApiId=api["id"], stageName=STAGE)


def _outputs(stack: dict) -> dict[str, str]:
    return {output["OutputKey"]: output["OutputValue"] for output in stack.get("Outputs", [])}


def _grants(document: dict, action: str, resource: str) -> bool:
    """Whether an Allow statement of the policy document names this action on this resource."""
    for statement in document["Statement"]:
        if statement.get("Effect") != "Allow":
            continue
        actions = statement.get("Action", [])
        resources = statement.get("Resource", [])
        actions = [actions] if isinstance(actions, str) else actions
        resources = [resources] if isinstance(resources, str) else resources
        if any(fnmatch.fnmatchcase(action, pattern) for pattern in actions) and any(
            fnmatch.fnmatchcase(resource, pattern) for pattern in resources
        ):
            return True
    return False


class TestInfraThenZappaDeployAndUpdate:
    def test_infra_wrote_its_outputs_into_the_settings_zappa_deployed(self, deployment):
        settings, outputs = deployment.settings, deployment.outputs
        assert settings["role_arn"] == outputs["LambdaRoleArn"]
        assert settings["manage_roles"] is False
        assert settings["s3_bucket"] == outputs["DeployBucketName"]
        assert settings["vpc_config"] == {
            "SubnetIds": outputs["LambdaSubnetIds"].split(","),
            "SecurityGroupIds": [outputs["LambdaSecurityGroupId"]],
        }
        [worker] = [event for event in settings["events"] if event["function"] == WORKER]
        assert worker["event_source"]["arn"] == outputs["QueueArn"]

    def test_function_runs_zappas_handler_as_the_infra_role_in_the_vpc(self, deployment):
        function = deployment.after_update["function"]
        settings, outputs = deployment.settings, deployment.outputs
        assert function["Runtime"] == "python3.11"
        assert function["Handler"] == "handler.lambda_handler"
        assert function["Role"] == outputs["LambdaRoleArn"]
        assert function["MemorySize"] == settings["memory_size"] == 1024
        assert function["Timeout"] == settings["timeout_seconds"] == 30
        assert sorted(function["VpcConfig"]["SubnetIds"]) == sorted(outputs["LambdaSubnetIds"].split(","))
        assert function["VpcConfig"]["SecurityGroupIds"] == [outputs["LambdaSecurityGroupId"]]

    def test_function_environment_names_the_infra_queue_buckets_and_secret(self, deployment):
        variables = deployment.after_update["function"]["Environment"]["Variables"]
        outputs = deployment.outputs
        assert variables == deployment.settings["aws_environment_variables"]
        assert variables["CELERY_BROKER_URL"] == "sqs://"
        assert variables["CELERY_SQS_QUEUE_URL"] == outputs["QueueUrl"]
        assert variables["DJANGO_STATIC_BUCKET"] == outputs["StaticBucketName"]
        assert variables["DJANGO_MEDIA_BUCKET"] == outputs["MediaBucketName"]
        assert variables["DJANGO_SECRETS_ID"] == outputs["SecretArn"]
        # The buckets are private: file URLs are on the CloudFront distribution.
        assert variables["DJANGO_STATIC_DOMAIN"] == outputs["StaticDomainName"]
        assert variables["DJANGO_MEDIA_DOMAIN"] == outputs["MediaDomainName"]
        assert outputs["StaticDomainName"].endswith(".cloudfront.net")

    def test_the_second_infra_run_puts_the_web_acl_on_zappas_api_stage(self, deployment):
        assert "No REST API" in deployment.output["infra"]
        assert "No REST API" not in deployment.output["infra again"]
        # Read right after that run: the association is what it made.
        assert deployment.stage_after_infra_again["webAclArn"] == deployment.outputs["WebAclArn"]
        assert deployment.outputs["WebAclName"] == f"{FUNCTION}-web"

    def test_api_gateway_proxies_every_path_to_the_function_on_stage_dev(self, deployment):
        apigateway = deployment.client("apigateway")
        [api] = [api for api in apigateway.get_rest_apis()["items"] if api["name"] == FUNCTION]
        assert [stage["stageName"] for stage in apigateway.get_stages(restApiId=api["id"])["item"]] == [STAGE]
        function_arn = deployment.after_update["function"]["FunctionArn"]
        resources = {item["path"]: item for item in apigateway.get_resources(restApiId=api["id"])["items"]}
        assert {"/", "/{proxy+}"} <= resources.keys()
        for path in ("/", "/{proxy+}"):
            integration = apigateway.get_integration(restApiId=api["id"], resourceId=resources[path]["id"],
                                                     httpMethod="ANY")
            assert integration["type"] == "AWS_PROXY"
            assert f"/functions/{function_arn}/invocations" in integration["uri"]

    @pytest.mark.parametrize("after", ["after_deploy", "after_update"])
    def test_the_queue_feeds_the_worker_ten_at_a_time_reporting_failed_records(self, deployment, after):
        mappings = getattr(deployment, after)["mappings"]
        assert len(mappings) == 1, mappings
        mapping = mappings[0]
        assert mapping["FunctionArn"] == deployment.after_update["function"]["FunctionArn"]
        assert mapping["BatchSize"] == 10
        assert mapping["State"] == "Enabled"
        # Zappa creates the mapping without FunctionResponseTypes or ScalingConfig; the "post"
        # callback adds them, the cap from the event source's "maximum_concurrency".
        assert mapping.get("FunctionResponseTypes") == ["ReportBatchItemFailures"]
        [worker] = [event for event in deployment.settings["events"] if event["function"] == WORKER]
        cap = worker["event_source"]["maximum_concurrency"]
        assert mapping.get("ScalingConfig") == {"MaximumConcurrency": cap}

    def test_function_runs_at_most_the_stages_reserved_concurrency(self, deployment):
        # lambda_concurrency bounds the database connections of web, worker and sweep together.
        concurrency = deployment.client("lambda").get_function_concurrency(FunctionName=FUNCTION)
        assert concurrency["ReservedConcurrentExecutions"] == deployment.settings["lambda_concurrency"] == 50

    def test_update_keeps_the_mapping_rather_than_making_another(self, deployment):
        [before] = deployment.after_deploy["mappings"]
        [after] = deployment.after_update["mappings"]
        assert after["UUID"] == before["UUID"]

    def test_confirmation_sweep_runs_every_five_minutes(self, deployment):
        events = deployment.client("events")
        function_arn = deployment.after_update["function"]["FunctionArn"]
        rules = [events.describe_rule(Name=name) for name in
                 events.list_rule_names_by_target(TargetArn=function_arn)["RuleNames"]]
        # keep_warm is off: the two sweeps are the function's only schedules.
        assert sorted(rule["Name"].rsplit("-", 1)[-1] for rule in rules) == sorted([SWEEP, EXPIRY_SWEEP])
        [expiry] = [rule for rule in rules if rule["Name"].endswith(f"-{EXPIRY_SWEEP}")]
        assert (expiry["ScheduleExpression"], expiry["State"]) == ("rate(1 minute)", "ENABLED")
        [rule] = [rule for rule in rules if rule["Name"].endswith(f"-{SWEEP}")]
        assert rule["ScheduleExpression"] == "rate(5 minutes)"
        assert rule["State"] == "ENABLED"
        # Zappa's handler finds the function to call from the rule's name.
        assert rule["Name"].endswith(f"-{SWEEP}")
        [target] = events.list_targets_by_rule(Rule=rule["Name"])["Targets"]
        assert target["Arn"] == function_arn
        # And EventBridge may invoke the function for that rule (moto answers AddPermission
        # with 200, so Zappa logs a problem; the permission is there all the same).
        policy = json.loads(deployment.client("lambda").get_policy(FunctionName=FUNCTION)["Policy"])
        assert any(
            statement["Principal"] == {"Service": "events.amazonaws.com"}
            and statement["Condition"]["ArnLike"]["AWS:SourceArn"] == rule["Arn"]
            for statement in policy["Statement"]
        )

    def test_role_has_the_infra_policy_with_the_queue_bucket_and_secret_actions(self, deployment):
        iam, outputs = deployment.client("iam"), deployment.outputs
        role_name = outputs["LambdaRoleArn"].rsplit("/", 1)[-1]
        attached = iam.list_attached_role_policies(RoleName=role_name)["AttachedPolicies"]
        assert outputs["LambdaPolicyArn"] in [policy["PolicyArn"] for policy in attached]
        version = iam.get_policy(PolicyArn=outputs["LambdaPolicyArn"])["Policy"]["DefaultVersionId"]
        document = iam.get_policy_version(PolicyArn=outputs["LambdaPolicyArn"], VersionId=version)
        document = document["PolicyVersion"]["Document"]
        if isinstance(document, str):
            document = json.loads(document)
        queue = outputs["QueueArn"]
        for action in ("sqs:SendMessage", "sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes",
                       "sqs:ChangeMessageVisibility"):
            assert _grants(document, action, queue), action
        for bucket in (outputs["StaticBucketName"], outputs["MediaBucketName"]):
            for action in ("s3:GetObject", "s3:PutObject", "s3:DeleteObject"):
                assert _grants(document, action, f"arn:aws:s3:::{bucket}/products/x.jpg"), (action, bucket)
            assert _grants(document, "s3:ListBucket", f"arn:aws:s3:::{bucket}"), bucket
        assert _grants(document, "secretsmanager:GetSecretValue", outputs["SecretArn"])
        assert not _grants(document, "secretsmanager:GetSecretValue", outputs["SecretArn"] + "-other")
        trust = iam.get_role(RoleName=role_name)["Role"]["AssumeRolePolicyDocument"]
        if isinstance(trust, str):
            trust = json.loads(trust)
        trusted = [statement["Principal"].get("Service") for statement in trust["Statement"]]
        assert any("lambda.amazonaws.com" in (service or []) for service in trusted)

    def test_update_ships_the_new_code(self, deployment):
        before, after = deployment.after_deploy["function"], deployment.after_update["function"]
        # moto keeps LastModified on UpdateFunctionCode; AWS would change both.
        assert after["CodeSha256"] != before["CodeSha256"]
        assert "Your updated Zappa deployment is live" in deployment.output["update"]

    def test_update_checked_for_function_urls(self, deployment):
        # The one route the harness adds to moto: `zappa update` lists the function's URLs (to
        # delete them, "function_url_enabled" being off). Should this fail, the route can go.
        calls = deployment.function_urls_route.calls
        assert calls and all(FUNCTION in call for call in calls), calls

    def test_zappa_keeps_its_api_stack_apart_from_the_infra_stack(self, deployment):
        # Zappa creates, then updates, a stack named after the function for the API; were the
        # infra stack named so, Zappa's template would replace it, role and queue and all.
        cloudformation = deployment.client("cloudformation")
        assert deployment.infra_stack != FUNCTION
        zappa_stack = cloudformation.describe_stacks(StackName=FUNCTION)["Stacks"][0]
        assert {"Key": "ZappaProject", "Value": FUNCTION} in zappa_stack["Tags"]
        infra = cloudformation.describe_stacks(StackName=deployment.infra_stack)["Stacks"][0]
        assert infra["StackStatus"] in ("CREATE_COMPLETE", "UPDATE_COMPLETE")
        assert _outputs(infra) == deployment.outputs
        resources = cloudformation.list_stack_resources(StackName=deployment.infra_stack)
        assert {"LambdaRole", "LambdaPolicy", "TaskQueue", "DeployBucket"} <= {
            resource["LogicalResourceId"] for resource in resources["StackResourceSummaries"]}
        deployment.client("sqs").get_queue_attributes(QueueUrl=deployment.outputs["QueueUrl"])


class TestRegionGuard:
    # With the credentials in the environment (as here, and in CI) Zappa's session takes
    # AWS_DEFAULT_REGION ahead of the stage's aws_region; its Lambda client keeps the stage's
    # region, its CloudFormation, API Gateway and EventBridge clients follow the session. The
    # "settings" callback (infra/zappa_callbacks.py) refuses before anything reaches AWS.
    OTHER_REGION = "us-east-1"

    def test_a_default_region_other_than_the_stages_is_refused_naming_both(self, deployment, deploy_venv):
        stage_region = deployment.settings["aws_region"]
        assert stage_region != self.OTHER_REGION
        env = {**deployment.env, "AWS_DEFAULT_REGION": self.OTHER_REGION}
        with pytest.raises(CommandFailed) as refused:
            run_zappa(deploy_venv, "update", STAGE, cwd=deployment.project, env=env)
        assert (
            f"stage {STAGE} is in {stage_region} (its aws_region), but "
            f"AWS_DEFAULT_REGION={self.OTHER_REGION} would send this command to {self.OTHER_REGION}"
        ) in str(refused.value)
        # Nothing of the stage was made in the other region.
        other = {
            service: boto3.client(
                service, endpoint_url=deployment.server.endpoint_url, region_name=self.OTHER_REGION,
                aws_access_key_id="testing", aws_secret_access_key="testing",
            )
            for service in ("cloudformation", "apigateway", "events", "lambda")
        }
        stacks = other["cloudformation"].list_stacks()["StackSummaries"]
        assert FUNCTION not in [stack["StackName"] for stack in stacks]
        assert [api["name"] for api in other["apigateway"].get_rest_apis()["items"]] == []
        assert other["events"].list_rules(NamePrefix=FUNCTION)["Rules"] == []
        functions = other["lambda"].list_functions()["Functions"]
        assert FUNCTION not in [function["FunctionName"] for function in functions]
