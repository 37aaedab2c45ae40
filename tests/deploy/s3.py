"""
A real S3-compatible server on loopback (moto's standalone server), as the SMTP sink stands in for a
mail server: the uploads tests and the two-server test talk to it over HTTP with boto3, exactly as
the product talks to a provider's object storage.

In a process of its own (`python -m moto.server -H 127.0.0.1 -p PORT`, see `command`), several web
servers in other processes share it.
"""

from __future__ import annotations

import sys

ACCESS_KEY, SECRET_KEY, REGION = "presessions-test-key", "presessions-test-secret", "us-east-1"
BUCKET = "presessions-uploads"
PREFIX = "private"
PUBLIC_GRANTEES = ("AllUsers", "AuthenticatedUsers")


def moto_available() -> bool:
    try:
        import moto.server  # noqa: F401
    except ImportError:
        return False
    return True


def command(port: int) -> list[str]:
    """moto's own standalone server, on loopback."""
    return [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]


def client(endpoint: str):
    import boto3
    from botocore.config import Config

    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
        config=Config(s3={"addressing_style": "path"}, signature_version="s3v4"),
    )


def storage_options(endpoint: str, bucket: str = BUCKET, prefix: str = PREFIX) -> dict:
    """The options config/settings.py gives S3Storage when S3_BUCKET is set, for this server."""
    return {
        "bucket_name": bucket,
        "endpoint_url": endpoint,
        "region_name": REGION,
        "access_key": ACCESS_KEY,
        "secret_key": SECRET_KEY,
        "location": prefix,
        "default_acl": "private",
        "querystring_auth": True,
        "querystring_expire": 300,
        "file_overwrite": False,
        "addressing_style": "path",
        "signature_version": "s3v4",
    }


def environment(endpoint: str, bucket: str = BUCKET, prefix: str = PREFIX) -> dict:
    """The same, as the environment variables config/settings.py reads."""
    return {
        "S3_BUCKET": bucket,
        "S3_ENDPOINT_URL": endpoint,
        "S3_REGION": REGION,
        "S3_ACCESS_KEY_ID": ACCESS_KEY,
        "S3_SECRET_ACCESS_KEY": SECRET_KEY,
        "S3_PREFIX": prefix,
        "S3_ADDRESSING_STYLE": "path",
    }


def objects(s3, bucket: str = BUCKET) -> dict[str, bytes]:
    """Every object in the bucket, by key."""
    found = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for item in page.get("Contents", []):
            found[item["Key"]] = s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
    return found


def public_grants(s3, key: str, bucket: str = BUCKET) -> list[dict]:
    """The grants of an object that let anyone (or anyone with any AWS account) read it."""
    grants = s3.get_object_acl(Bucket=bucket, Key=key)["Grants"]
    return [g for g in grants if any(name in g["Grantee"].get("URI", "") for name in PUBLIC_GRANTEES)]


def anonymous_status(endpoint: str, key: str, bucket: str = BUCKET) -> int:
    """The status of a plain, unsigned GET of an object from the bucket: what anyone with its address would get."""
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(f"{endpoint}/{bucket}/{key}", timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def empty(s3, bucket: str = BUCKET) -> None:
    for key in objects(s3, bucket):
        s3.delete_object(Bucket=bucket, Key=key)
