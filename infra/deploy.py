"""Deploy infra/template.yaml as the stack myshop-<stage>-infra; point zappa_settings.json at it.

    make infra STAGE=dev            # = python infra/deploy.py --stage dev
    make infra STAGE=dev ALARM_EMAIL=ops@example.com   # --alarm-email: who the alarms e-mail
                                    # (a later run without it keeps the stack's subscriber)

In order:
1. read the stage of zappa_settings.json (following "extends"): project_name, timeout_seconds,
   the sender of DJANGO_DEFAULT_FROM_EMAIL, domain and certificate_arn, and aws_region become
   stack parameters, so the stack and the function agree on them; and the id of the REST API
   Zappa made (<project_name>-<stage>), once there is one, for the web ACL;
2. make sure the secret myshop-<stage>/django exists, with a DJANGO_SECRET_KEY and a database
   password that Secrets Manager generates (CloudFormation reads the password from it through a
   dynamic reference; moto's CloudFormation cannot create secrets, hence this step is here);
3. create the stack, or update it (no changes is fine), and wait;
4. complete the secret's DATABASE_URL from the database's endpoint;
5. print the outputs, and write them into the stage's section of zappa_settings.json.

boto3 reads AWS_ENDPOINT_URL, so the same run deploys to a moto server. Failures are one
message on stderr and exit status 1, never a traceback.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import sys
import tempfile
import urllib.parse
from email.utils import parseaddr
from pathlib import Path

import boto3
import yaml
from botocore.exceptions import BotoCoreError, ClientError, WaiterError
from botocore.parsers import ResponseParserError

STACK_PREFIX = "myshop"
# Not myshop-<stage>: Zappa keeps its API Gateway in a stack named after the function
# (<project_name>-<stage>) and, finding one by that name, updates it with its own template,
# which would delete everything here.
STACK_SUFFIX = "infra"
STAGES = ("dev", "production")
TEMPLATE = Path(__file__).with_name("template.yaml")
# CloudFormation refuses a larger TemplateBody (it would have to be uploaded to S3 first). The
# template is sent as compact JSON (template_body), without the comments that explain it.
TEMPLATE_BODY_LIMIT = 51_200
WORKER_FUNCTION = "shop_project.lambda_worker.handler"
# Zappa's default when zappa_settings.json names none.
ZAPPA_DEFAULT_TIMEOUT_SECONDS = 30
# The outputs others code against (see infra/README.md).
CONTRACT_OUTPUTS = (
    "QueueUrl",
    "QueueArn",
    "DeadLetterQueueUrl",
    "StaticBucketName",
    "MediaBucketName",
    "DeployBucketName",
    "LambdaRoleArn",
    "LambdaPolicyArn",
    "SecretArn",
    "LambdaSubnetIds",
    "LambdaSecurityGroupId",
    "DatabaseEndpoint",
    "DatabasePort",
    "StaticDomainName",
    "MediaDomainName",
)
# And the ones deploy.py itself needs, for DATABASE_URL.
REQUIRED_OUTPUTS = (*CONTRACT_OUTPUTS, "DatabaseName", "DatabaseUsername")
# Creating RDS takes 5-15 minutes, Multi-AZ up to 40; a waiter gives up after an hour.
WAITER_CONFIG = {"Delay": 15, "MaxAttempts": 240}
BUSY_SUFFIXES = ("_IN_PROGRESS",)
UPDATABLE = {"CREATE_COMPLETE", "UPDATE_COMPLETE", "UPDATE_ROLLBACK_COMPLETE", "IMPORT_COMPLETE"}
# Parameters deploy.py does not derive: the template's defaults at creation, then whatever an
# operator set (infra/README.md, "The web ACL") is kept by every later run.
KEPT_PARAMETERS = ("AdminLoginRateLimit", "CheckoutRateLimit", "PaymentRateLimit")


class DeployError(Exception):
    """A failure explained in one message; main() prints it without a traceback."""


# zappa_settings.json --------------------------------------------------------------------------


class _TemplateLoader(yaml.SafeLoader):
    """Reads CloudFormation's short forms (!Ref, !Sub, !GetAtt a.b …) as their long forms."""


def _long_form(loader: yaml.SafeLoader, suffix: str, node: yaml.Node):
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if suffix == "Ref":
        return {"Ref": value}
    if suffix == "Condition":
        return {"Condition": value}
    if suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {f"Fn::{suffix}": value}


_TemplateLoader.add_multi_constructor("!", _long_form)


def template_body(text: str) -> str:
    """The template as CloudFormation is sent it: compact JSON, the same template without comments."""
    # nosec B506: _TemplateLoader is a SafeLoader that also reads the short forms.
    return json.dumps(yaml.load(text, Loader=_TemplateLoader), separators=(",", ":"))  # nosec B506


def read_zappa_settings(path: Path) -> dict:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DeployError(f"{path} not found (give its path with --zappa-settings PATH)") from None
    try:
        settings = json.loads(text)
    except json.JSONDecodeError as error:
        raise DeployError(f"{path} is not valid JSON: {error}") from None
    if not isinstance(settings, dict):
        raise DeployError(f"{path} must hold a JSON object of stages")
    return settings


def stage_settings(settings: dict, stage: str) -> dict:
    """The stage's settings as Zappa sees them: "extends" is a shallow merge onto the parent."""
    chain: list[str] = []
    name: str | None = stage
    while name is not None:
        if name in chain:
            raise DeployError(f"zappa settings: circular extends through {' -> '.join([*chain, name])}")
        if not isinstance(settings.get(name), dict):
            where = f" (extended by {chain[-1]})" if chain else ""
            raise DeployError(f"zappa settings have no stage {name!r}{where}")
        chain.append(name)
        name = settings[name].get("extends")
    resolved: dict = {}
    for name in reversed(chain):
        resolved.update(copy.deepcopy(settings[name]))
    return resolved


def zappa_settings_with_outputs(settings: dict, stage: str, outputs: dict[str, str]) -> dict:
    """A copy of the settings whose stage section uses the stack's outputs; nothing else changes.

    Zappa's "extends" replaces a key as a whole, so "events", "vpc_config" and
    "aws_environment_variables" are written into the stage's own section complete: for
    production (which extends dev) they start from what it inherits, with the stage's own
    queue, buckets and secret in place of dev's.
    """
    updated = copy.deepcopy(settings)
    resolved = stage_settings(settings, stage)
    section = updated[stage]
    section["role_arn"] = outputs["LambdaRoleArn"]
    section["manage_roles"] = False
    section["s3_bucket"] = outputs["DeployBucketName"]
    section["vpc_config"] = {
        **resolved.get("vpc_config", {}),
        "SubnetIds": outputs["LambdaSubnetIds"].split(","),
        "SecurityGroupIds": [outputs["LambdaSecurityGroupId"]],
    }
    section["events"] = _events_with_queue(resolved.get("events", []), outputs["QueueArn"])
    section["aws_environment_variables"] = {
        **resolved.get("aws_environment_variables", {}),
        "CELERY_BROKER_URL": "sqs://",
        "CELERY_SQS_QUEUE_URL": outputs["QueueUrl"],
        "DJANGO_STATIC_BUCKET": outputs["StaticBucketName"],
        "DJANGO_MEDIA_BUCKET": outputs["MediaBucketName"],
        # The buckets are private: the shop's file URLs are on the CloudFront distribution.
        "DJANGO_STATIC_DOMAIN": outputs["StaticDomainName"],
        "DJANGO_MEDIA_DOMAIN": outputs["MediaDomainName"],
        "DJANGO_SECRETS_ID": outputs["SecretArn"],
    }
    return updated


def _events_with_queue(events: list[dict], queue_arn: str) -> list[dict]:
    events = copy.deepcopy(events)
    workers = [event for event in events if event.get("function") == WORKER_FUNCTION]
    if not workers:
        # Without it nothing drains the queue; batch_size is Zappa's default.
        workers = [{"function": WORKER_FUNCTION, "event_source": {"batch_size": 10, "enabled": True}}]
        events.append(workers[0])
    for event in workers:
        event.setdefault("event_source", {})["arn"] = queue_arn
    return events


def write_zappa_settings(path: Path, settings: dict) -> None:
    """JSON, indent 4, a trailing newline, keys in their order; replaced atomically."""
    text = json.dumps(settings, indent=4, ensure_ascii=False) + "\n"
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(text)
        if path.exists():
            os.chmod(temporary, path.stat().st_mode & 0o777)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def stack_parameters(stage: str, resolved: dict, secret_arn: str, rest_api_id: str = "") -> dict[str, str]:
    """The template's parameters, from the Zappa stage they serve (and its API, once made)."""
    project_name = resolved.get("project_name")
    if not project_name:
        print(
            f'warning: zappa settings give stage {stage} no "project_name"; Zappa would name the '
            f'function after the directory, the stack assumes "{STACK_PREFIX}"',
            file=sys.stderr,
        )
        project_name = STACK_PREFIX
    environment = {
        **resolved.get("environment_variables", {}),
        **resolved.get("aws_environment_variables", {}),
    }
    from_address = parseaddr(environment.get("DJANGO_DEFAULT_FROM_EMAIL", ""))[1]
    return {
        "Stage": stage,
        # Zappa slugifies project_name-stage into the function name.
        "ProjectName": str(project_name).lower().replace("_", "-"),
        "SecretArn": secret_arn,
        "FunctionTimeoutSeconds": str(resolved.get("timeout_seconds", ZAPPA_DEFAULT_TIMEOUT_SECONDS)),
        "FromEmailAddress": from_address,
        "RestApiId": rest_api_id,
        # Zappa's own keys for a custom domain; the stack creates it (not `zappa certify`).
        "SiteDomainName": str(resolved.get("domain") or ""),
        "SiteCertificateArn": str(resolved.get("certificate_arn") or ""),
    }


def function_name(parameters: dict[str, str]) -> str:
    return f"{parameters['ProjectName']}-{parameters['Stage']}"


def find_rest_api(client, name: str) -> str:
    """The id of the REST API Zappa named after the function, or "" before `zappa deploy`."""
    ids = [
        api["id"]
        for page in client.get_paginator("get_rest_apis").paginate()
        for api in page.get("items", [])
        if api.get("name") == name
    ]
    if len(ids) > 1:
        raise DeployError(f"{len(ids)} REST APIs are named {name}: delete the stray ones (Zappa made one)")
    return ids[0] if ids else ""


# The secret -----------------------------------------------------------------------------------


def secret_name(stage: str) -> str:
    return f"{STACK_PREFIX}-{stage}/django"


def _generated(client, length: int) -> str:
    # Letters and digits only: safe in a URL, in RDS's master password and in a shell.
    return client.get_random_password(PasswordLength=length, ExcludePunctuation=True)["RandomPassword"]


def _secret_value(client, secret_id: str) -> dict:
    try:
        value = json.loads(client.get_secret_value(SecretId=secret_id)["SecretString"])
    except (KeyError, json.JSONDecodeError):
        raise DeployError(f"the secret {secret_id} does not hold a JSON object") from None
    if not isinstance(value, dict):
        raise DeployError(f"the secret {secret_id} does not hold a JSON object")
    return value


def ensure_secret(client, stage: str, stack_name: str, *, database_exists: bool, tags: list[dict]) -> str:
    """The secret's ARN; created with a DJANGO_SECRET_KEY and DATABASE_PASSWORD if missing.

    An existing secret keeps its values: a new DJANGO_SECRET_KEY would end every session, and
    the database keeps the password it was created with (so a database without its password
    is an error, not a reason to generate one it would not accept).
    """
    name = secret_name(stage)
    lost_password = (
        f"the stack {stack_name} has a database whose master password was in the secret {name}: "
        "put it back (or set a new one with `aws rds modify-db-instance --master-user-password`) "
        "as DATABASE_PASSWORD, and run again"
    )
    try:
        described = client.describe_secret(SecretId=name)
    except ClientError as error:
        if error.response["Error"]["Code"] != "ResourceNotFoundException":
            raise
        described = None
    if described is None:
        if database_exists:
            raise DeployError(f"no secret {name}, but {lost_password}")
        value = {"DJANGO_SECRET_KEY": _generated(client, 64), "DATABASE_PASSWORD": _generated(client, 40)}
        created = client.create_secret(
            Name=name,
            Description=f"{stack_name}: DJANGO_SECRET_KEY and DATABASE_URL for the Zappa function",
            SecretString=json.dumps(value),
            Tags=tags,
        )
        print(f"Created the secret {name}.")
        return created["ARN"]
    if described.get("DeletedDate"):
        raise DeployError(
            f"the secret {name} is scheduled for deletion; restore it "
            f"(aws secretsmanager restore-secret --secret-id {name}) and run again"
        )
    value = _secret_value(client, described["ARN"])
    missing = {}
    if not value.get("DJANGO_SECRET_KEY"):
        missing["DJANGO_SECRET_KEY"] = _generated(client, 64)
    if not value.get("DATABASE_PASSWORD"):
        if database_exists:
            raise DeployError(f"no DATABASE_PASSWORD in the secret, but {lost_password}")
        missing["DATABASE_PASSWORD"] = _generated(client, 40)
    if missing:
        client.put_secret_value(SecretId=described["ARN"], SecretString=json.dumps({**value, **missing}))
        print(f"Added {', '.join(sorted(missing))} to the secret {name}.")
    return described["ARN"]


def database_url(secret: dict, outputs: dict[str, str]) -> str:
    return "postgres://{user}:{password}@{host}:{port}/{name}".format(
        user=urllib.parse.quote(outputs["DatabaseUsername"], safe=""),
        password=urllib.parse.quote(secret["DATABASE_PASSWORD"], safe=""),
        host=outputs["DatabaseEndpoint"],
        port=outputs["DatabasePort"],
        name=urllib.parse.quote(outputs["DatabaseName"], safe=""),
    )


def complete_secret(client, secret_arn: str, outputs: dict[str, str]) -> None:
    """Write DATABASE_URL (with the endpoint the stack created) if the secret lacks it or it changed."""
    value = _secret_value(client, secret_arn)
    url = database_url(value, outputs)
    if value.get("DATABASE_URL") == url:
        return
    client.put_secret_value(SecretId=secret_arn, SecretString=json.dumps({**value, "DATABASE_URL": url}))
    print("Wrote DATABASE_URL into the secret.")


# The stack ------------------------------------------------------------------------------------


def describe_stack(client, name: str) -> dict | None:
    try:
        return client.describe_stacks(StackName=name)["Stacks"][0]
    except ClientError as error:
        if "does not exist" in error.response["Error"].get("Message", ""):
            return None
        raise


def _failure_reasons(client, name: str) -> list[str]:
    """The FAILED events of the latest operation (events come newest first)."""
    reasons = []
    for event in client.describe_stack_events(StackName=name)["StackEvents"]:
        status = event.get("ResourceStatus", "")
        if status.endswith("FAILED") and event.get("ResourceStatusReason"):
            reasons.append(f"  {event['LogicalResourceId']}: {status}: {event['ResourceStatusReason']}")
        if event.get("ResourceType") == "AWS::CloudFormation::Stack" and status in (
            "CREATE_IN_PROGRESS",
            "UPDATE_IN_PROGRESS",
        ):
            break
    return list(reversed(reasons))


def _wait(client, waiter_name: str, name: str, doing: str) -> None:
    try:
        client.get_waiter(waiter_name).wait(StackName=name, WaiterConfig=WAITER_CONFIG)
    except WaiterError:
        stack = describe_stack(client, name)
        status = stack["StackStatus"] if stack else "gone"
        reasons = _failure_reasons(client, name) if stack else []
        raise DeployError(
            "\n".join([f"{doing} the stack {name} failed: it is {status}.", *reasons])
        ) from None


def deploy_stack(
    client, name: str, template_body: str, parameters: dict[str, str], tags: list[dict], *, protect: bool
) -> dict[str, str]:
    """Create or update the stack, wait for it, and return its outputs."""
    stack = describe_stack(client, name)
    # Their current values, given again (what UsePreviousValue means; moto cannot do that for a
    # value that was the default).
    kept = {
        parameter["ParameterKey"]: parameter["ParameterValue"]
        for parameter in (stack or {}).get("Parameters", [])
        if parameter["ParameterKey"] in KEPT_PARAMETERS
    }
    arguments = {
        "StackName": name,
        "TemplateBody": template_body,
        "Parameters": [
            {"ParameterKey": key, "ParameterValue": value} for key, value in {**kept, **parameters}.items()
        ],
        # The role and policy get generated names, hence not CAPABILITY_NAMED_IAM.
        "Capabilities": ["CAPABILITY_IAM"],
        "Tags": tags,
    }
    status = stack["StackStatus"] if stack else None
    if status == "ROLLBACK_COMPLETE":
        # Its creation failed and everything was rolled back; such a stack can only be deleted.
        print(f"The stack {name} is ROLLBACK_COMPLETE (its creation failed); deleting it to start over.")
        if stack.get("EnableTerminationProtection"):
            client.update_termination_protection(StackName=name, EnableTerminationProtection=False)
        client.delete_stack(StackName=name)
        _wait(client, "stack_delete_complete", name, "Deleting")
        stack = status = None
    if status is not None and status.endswith(BUSY_SUFFIXES):
        raise DeployError(f"the stack {name} is busy ({status}); wait for it to finish and run again")
    if status is not None and status not in UPDATABLE:
        raise DeployError(
            f"the stack {name} is {status} and cannot be updated; see its events in the "
            "CloudFormation console (infra/README.md, 'When a deploy fails')"
        )
    if stack is None:
        print(f"Creating the stack {name} (RDS takes 5-15 minutes)...", flush=True)
        client.create_stack(**arguments, EnableTerminationProtection=protect)
        _wait(client, "stack_create_complete", name, "Creating")
    else:
        print(f"Updating the stack {name}...", flush=True)
        try:
            client.update_stack(**arguments)
        except ClientError as error:
            if "No updates are to be performed" not in error.response["Error"].get("Message", ""):
                raise
            print("No changes.")
        else:
            _wait(client, "stack_update_complete", name, "Updating")
    stack = describe_stack(client, name)
    outputs = {output["OutputKey"]: output["OutputValue"] for output in stack.get("Outputs", [])}
    missing = [key for key in REQUIRED_OUTPUTS if not outputs.get(key)]
    if missing:
        raise DeployError(f"the stack {name} lacks the outputs {', '.join(missing)}")
    return outputs


def format_outputs(outputs: dict[str, str]) -> str:
    width = max(len(key) for key in outputs)
    lines = [f"{'Output'.ljust(width)}  Value", f"{'-' * width}  {'-' * 5}"]
    lines += [f"{key.ljust(width)}  {value}" for key, value in sorted(outputs.items())]
    return "\n".join(lines)


# The command ----------------------------------------------------------------------------------


def alarm_email_parameter(stack: dict | None, alarm_email: str | None) -> dict[str, str]:
    """The AlarmEmail parameter: the one given, else the stack's current one, else none (the default).

    Kept from the stack when not given, so that a `make infra` without ALARM_EMAIL does not
    unsubscribe whoever receives the alarms; an empty value given on purpose does.
    """
    if alarm_email is not None:
        return {"AlarmEmail": alarm_email}
    for parameter in (stack or {}).get("Parameters", []):
        if parameter.get("ParameterKey") == "AlarmEmail":
            return {"AlarmEmail": parameter.get("ParameterValue", "")}
    return {}


def run(stage: str, settings_path: Path, region: str | None, alarm_email: str | None = None) -> None:
    settings = read_zappa_settings(settings_path)
    resolved = stage_settings(settings, stage)
    body = template_body(TEMPLATE.read_text(encoding="utf-8"))
    if len(body.encode()) > TEMPLATE_BODY_LIMIT:
        raise DeployError(f"{TEMPLATE}, as JSON, is over the {TEMPLATE_BODY_LIMIT} bytes of a TemplateBody")

    # The region Zappa deploys the function to, unless told otherwise.
    session = boto3.session.Session(region_name=region or resolved.get("aws_region"))
    if not session.region_name:
        raise DeployError("no AWS region: set the stage's aws_region, AWS_DEFAULT_REGION or --region")
    stack_name = f"{STACK_PREFIX}-{stage}-{STACK_SUFFIX}"
    endpoint = os.environ.get("AWS_ENDPOINT_URL")
    print(f"Stack {stack_name} in {session.region_name}" + (f" at {endpoint}" if endpoint else ""))

    cloudformation = session.client("cloudformation")
    secrets = session.client("secretsmanager")
    tags = [{"Key": "Project", "Value": STACK_PREFIX}, {"Key": "Stage", "Value": stage}]
    stack = describe_stack(cloudformation, stack_name)
    # A ROLLBACK_COMPLETE stack holds nothing (deploy_stack deletes it and starts again).
    database_exists = stack is not None and stack["StackStatus"] != "ROLLBACK_COMPLETE"
    secret_arn = ensure_secret(secrets, stage, stack_name, database_exists=database_exists, tags=tags)
    parameters = stack_parameters(stage, resolved, secret_arn) | alarm_email_parameter(stack, alarm_email)
    parameters["RestApiId"] = find_rest_api(session.client("apigateway"), function_name(parameters))
    if not parameters["RestApiId"]:
        print(f"No REST API {function_name(parameters)} yet: after `zappa deploy {stage}`, run this "
              "again so that the web ACL guards it.")
    outputs = deploy_stack(
        cloudformation, stack_name, body, parameters, tags, protect=stage == "production"
    )
    complete_secret(secrets, secret_arn, outputs)
    print(format_outputs(outputs), end="\n\n")

    # Read again: the file may have been edited while the stack was being built.
    updated = zappa_settings_with_outputs(read_zappa_settings(settings_path), stage, outputs)
    write_zappa_settings(settings_path, updated)
    print(f"Wrote the outputs into the {stage} stage of {settings_path}.")


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stage", required=True, choices=STAGES)
    parser.add_argument(
        "--zappa-settings",
        type=Path,
        default=Path("zappa_settings.json"),
        metavar="PATH",
        help="the Zappa settings to update (default: zappa_settings.json)",
    )
    parser.add_argument("--region", help="default: the stage's aws_region, else boto3's region")
    parser.add_argument(
        "--alarm-email",
        metavar="ADDRESS",
        help="who the stage's alarms e-mail (default: the stack's current subscriber; '' for none)",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    arguments = parse_arguments(argv)
    try:
        run(arguments.stage, arguments.zappa_settings, arguments.region, arguments.alarm_email)
    except DeployError as error:
        print(f"deploy.py: {error}", file=sys.stderr)
        return 1
    except ClientError as error:
        details = error.response.get("Error", {})
        print(
            f"deploy.py: AWS refused {error.operation_name}: {details.get('Code')}: {details.get('Message')}",
            file=sys.stderr,
        )
        return 1
    except BotoCoreError as error:
        # No credentials, no region, an endpoint that does not answer...
        print(f"deploy.py: {error}", file=sys.stderr)
        return 1
    except ResponseParserError as error:
        # Something answered that is not AWS (a proxy's error page, a failing moto server).
        print(f"deploy.py: the endpoint's answer is not an AWS response: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(
            "deploy.py: interrupted; a stack operation already started goes on in CloudFormation "
            "(run again once it is done: it will finish the secret and zappa_settings.json)",
            file=sys.stderr,
        )
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
