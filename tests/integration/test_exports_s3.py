"""Exports on moto: the route, the worker through the stream's job, S3 multipart and the
presigned link; the bucket private, encrypted and emptied after 7 days."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import boto3

from chalicelib import auth
from chalicelib.adapters.s3 import PART, S3Exports
from chalicelib.usecases import exports
from chalicelib.usecases.registrations import register
from tests.builders import person


def _reader(aws) -> dict[str, str]:
    token = auth.mint(aws.tokens, ["conf"], ["read"], "exports", aws.clock())
    return {"Authorization": f"Bearer {token}"}


def test_an_export_through_the_api_lands_in_s3_with_a_link_that_expires(api, aws):
    register(aws, "conf", person(1, first_name="هدى", language="ar"), form=False)
    register(aws, "conf", person(2, first_name="Elif", language="tr"), form=False)
    started = api.http.post("/events/conf/exports?language=ar", headers=_reader(aws))
    assert started.status_code == 202
    export_id = started.json_body["export_id"]
    path = f"/events/conf/exports/{export_id}"
    assert api.http.get(path, headers=_reader(aws)).json_body["status"] == "running"

    assert exports.write(aws, export_id) == "done"  # the export queue's job
    answer = api.http.get(path, headers=_reader(aws)).json_body
    assert (answer["status"], answer["rows"]) == ("done", 1)
    link = urlparse(answer["url"])
    query = parse_qs(link.query)
    assert query["X-Amz-Expires"] == ["3600"]
    assert "attachment" in query["response-content-disposition"][0]
    body = (
        boto3.client("s3")
        .get_object(Bucket=aws.settings.export_bucket, Key=f"conf/{export_id}.csv")["Body"]
        .read()
    )
    assert body.startswith("\ufeff".encode()) and "هدى".encode() in body
    assert b"Elif" not in body


def test_a_large_file_goes_up_in_parts(aws):
    files = S3Exports(aws.settings.export_bucket)
    line = ("x" * 99 + "\n").encode()
    chunks = (line * 10_000 for _ in range(18))  # 18 MB, a megabyte a chunk
    files.upload("big.csv", chunks)
    s3 = boto3.client("s3")
    head = s3.head_object(Bucket=aws.settings.export_bucket, Key="big.csv", PartNumber=1)
    # Parts of at least PART bytes (S3 wants 5 MiB), a megabyte chunk at a time.
    assert head["PartsCount"] == 2 and head["ContentLength"] == 9_000_000 >= PART
    whole = s3.head_object(Bucket=aws.settings.export_bucket, Key="big.csv")
    assert whole["ContentLength"] == 18_000_000
    assert s3.list_multipart_uploads(Bucket=aws.settings.export_bucket).get("Uploads", []) == []


def test_the_bucket_is_private_encrypted_and_forgets(aws):
    s3 = boto3.client("s3")
    bucket = aws.settings.export_bucket
    block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    assert all(block.values())
    rules = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
    assert rules[0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    (rule,) = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    assert rule["Expiration"]["Days"] == 7 and rule["Status"] == "Enabled"
